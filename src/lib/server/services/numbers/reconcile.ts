import { and, desc, inArray, ne } from 'drizzle-orm';
import { phoneNumber, numberReconcileRun, twilioAccount, type DriftItem } from '../../db/schema/index';
import { UpstreamError } from '../../elevenlabs/client';
import { DomainError } from '../../errors';
import { TwilioProviderError, type OwnedNumber } from '../../twilio/index';
import { assertPlatformActor } from '../context';
import type { UpstreamPhoneNumber } from '../../elevenlabs/management';
import { managementClientFor } from '../connections/upstream';
import type { ServiceCtx } from '../context';
import { twilioFor } from './twilio-accounts';

// Drift between Twilio, ElevenLabs and our rows, reported on the admin page. It changes nothing: deciding
// whether a number missing at Twilio should be re-bought or written off is an admin's call.
// Numbers in a transitional state are the resume job's business and are left out.
// Scope: every number of every configured Twilio account (each costs money), and the ElevenLabs numbers of every
// connection we import into whose E.164 is ours at Twilio or in our rows (a workspace may hold numbers from
// elsewhere, e.g. SIP trunks, that the pool does not manage).

export interface ReconcileReport {
	id: string;
	ranAt: Date;
	ok: boolean;
	checked: number;
	drift: DriftItem[];
	error: string | null;
}

/** `twilioAccountIds` narrows the run to some accounts and their numbers (the scheduled job checks them all). */
export async function reconcileNumbers({ ctx, input = {} }: { ctx: ServiceCtx; input?: { twilioAccountIds?: string[] } }): Promise<ReconcileReport> {
	assertPlatformActor(ctx.actor);
	const drift: DriftItem[] = [];
	let error: string | null = null;
	const only = input.twilioAccountIds;
	const rows = await ctx.db
		.select()
		.from(phoneNumber)
		.where(and(ne(phoneNumber.status, 'released'), only ? inArray(phoneNumber.twilioAccountId, only) : undefined));
	const stable = rows.filter((r) => r.status === 'active');
	const ours = new Set(rows.map((r) => r.e164));
	try {
		const twilioNumbers = new Map<string, OwnedNumber>();
		for (const account of await ctx.db.select().from(twilioAccount).where(only ? inArray(twilioAccount.id, only) : undefined)) {
			for (const n of await twilioFor(account).listOwned()) twilioNumbers.set(n.e164, n);
		}
		const connectionIds = new Set(rows.map((r) => r.connectionId));
		const elevenlabsNumbers = new Map<string, UpstreamPhoneNumber & { connectionId: string }>();
		for (const connectionId of connectionIds) {
			const list = await (await managementClientFor(ctx, connectionId)).listPhoneNumbers();
			for (const p of list) if (!p.provider || p.provider === 'twilio') elevenlabsNumbers.set(p.phone_number, { ...p, connectionId });
		}
		for (const r of stable) {
			const atTwilio = twilioNumbers.get(r.e164);
			const atEl = elevenlabsNumbers.get(r.e164);
			if (!atTwilio && !atEl) drift.push({ kind: 'only_in_database', e164: r.e164, numberId: r.id, detail: 'Active here, but neither Twilio nor ElevenLabs has it' });
			else if (!atTwilio) drift.push({ kind: 'missing_at_twilio', e164: r.e164, numberId: r.id, detail: 'Twilio no longer has this number; calls to it cannot arrive' });
			else if (!atEl) drift.push({ kind: 'missing_at_elevenlabs', e164: r.e164, numberId: r.id, detail: 'ElevenLabs no longer has this number; no agent answers it' });
			else if ((atEl.assigned_agent?.agent_id ?? null) !== r.agentId)
				drift.push({
					kind: 'agent_mismatch',
					e164: r.e164,
					numberId: r.id,
					detail: `ElevenLabs answers with ${atEl.assigned_agent?.agent_id ?? 'no agent'}, we expect ${r.agentId ?? 'none'}`
				});
		}
		for (const [e164, n] of twilioNumbers)
			if (!ours.has(e164)) drift.push({ kind: 'untracked_at_twilio', e164, numberId: null, detail: `Owned at Twilio (${n.sid}) but not in the pool` });
		for (const [e164, p] of elevenlabsNumbers)
			if (!ours.has(e164) && twilioNumbers.has(e164))
				drift.push({ kind: 'untracked_at_elevenlabs', e164, numberId: null, detail: `Imported into ElevenLabs (${p.phone_number_id}) but not in the pool` });
	} catch (err) {
		// A disabled connection or a deleted account is drift information too, not a crash of the job.
		if (!(err instanceof UpstreamError || err instanceof TwilioProviderError || err instanceof DomainError)) throw err;
		error = `Could not read the providers: ${err.message}`.slice(0, 500);
	}
	const [run] = await ctx.db
		.insert(numberReconcileRun)
		.values({ ok: error === null && drift.length === 0, checked: stable.length, drift, error })
		.returning();
	return run;
}

export async function latestReconcileReport({ ctx }: { ctx: ServiceCtx }): Promise<ReconcileReport | null> {
	assertPlatformActor(ctx.actor);
	const [run] = await ctx.db.select().from(numberReconcileRun).orderBy(desc(numberReconcileRun.ranAt)).limit(1);
	return run ?? null;
}
