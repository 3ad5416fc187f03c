import { and, asc, eq, inArray, isNull, lte, or, sql } from 'drizzle-orm';
import { inTransaction, type DbOrTx } from '../../db/client';
import { phoneNumber, TRANSITIONAL_NUMBER_STATUSES, type PhoneNumberStatus } from '../../db/schema/index';
import { UpstreamError } from '../../elevenlabs/client';
import { TwilioProviderError } from '../../twilio/index';
import { log } from '../../log';
import { managementClientFor } from '../connections/upstream';
import type { ServiceCtx } from '../context';
import { twilioAccountRow, twilioFor } from './twilio-accounts';

// The persisted state machine of one number. Every step is idempotent: it looks the number up at the provider
// before creating it (a lost answer may have bought or imported it already) and treats "already gone" as done
// when deleting. A step that fails records the error and when to try again; the `numbers.resume` job (and any
// admin action on the number) picks it up from the same state, so a failure midway never leaves an orphan.

type NumberRow = typeof phoneNumber.$inferSelect;

const MAX_STEPS = 6;
/** Backoff after a failed step: 5 s, 10 s, 20 s … capped at 10 minutes. */
export const retryDelayMs = (attempts: number) => Math.min(600_000, 5_000 * 2 ** Math.max(0, attempts - 1));

const is404 = (err: unknown) => (err instanceof UpstreamError && err.status === 404) || (err instanceof TwilioProviderError && err.status === 404);

function describe(err: unknown): string {
	if (err instanceof UpstreamError) return `ElevenLabs: ${err.message}`.slice(0, 500);
	if (err instanceof TwilioProviderError) return `Twilio: ${err.message}`.slice(0, 500);
	return (err as Error)?.message?.slice(0, 500) ?? String(err);
}

/** One provider step from the row's state; returns the changes to store (including the next status). */
async function step(ctx: ServiceCtx, row: NumberRow, progress: (patch: Partial<NumberRow>) => void): Promise<Partial<NumberRow>> {
	const account = await twilioAccountRow(ctx.db, row.twilioAccountId);
	const twilio = twilioFor(account);
	switch (row.status as PhoneNumberStatus) {
		case 'purchasing': {
			const owned = (await twilio.findByE164(row.e164)) ?? (await twilio.buy({ e164: row.e164, friendlyName: row.friendlyName ?? undefined }));
			return { twilioSid: owned.sid, status: 'importing' };
		}
		case 'importing': {
			const el = await managementClientFor(ctx, row.connectionId);
			const existing = (await el.listPhoneNumbers()).find((p) => p.phone_number === row.e164);
			const id =
				existing?.phone_number_id ??
				(await el.importTwilioNumber({ phoneNumber: row.e164, label: row.friendlyName ?? row.e164, accountSid: twilio.accountSid, authToken: twilio.authToken }))
					.phoneNumberId;
			return { elevenlabsPhoneNumberId: id, status: 'syncing' };
		}
		case 'syncing': {
			const el = await managementClientFor(ctx, row.connectionId);
			await el.setPhoneNumberAgent(row.elevenlabsPhoneNumberId!, row.agentId);
			return { status: 'active' };
		}
		case 'releasing': {
			const el = await managementClientFor(ctx, row.connectionId);
			// Also by E.164: an import whose answer was lost left no id here but a number upstream.
			const upstreamIds = new Set((await el.listPhoneNumbers()).filter((p) => p.phone_number === row.e164).map((p) => p.phone_number_id));
			if (row.elevenlabsPhoneNumberId) upstreamIds.add(row.elevenlabsPhoneNumberId);
			for (const id of upstreamIds) {
				// Unassign first so no call is answered by a number that is about to go.
				try {
					await el.setPhoneNumberAgent(id, null);
					await el.deletePhoneNumber(id);
				} catch (err) {
					if (!is404(err)) throw err;
				}
			}
			progress({ elevenlabsPhoneNumberId: null });
			const sids = new Set<string>();
			if (row.twilioSid) sids.add(row.twilioSid);
			const found = await twilio.findByE164(row.e164);
			if (found) sids.add(found.sid);
			for (const sid of sids) await twilio.release(sid);
			return { twilioSid: null, status: 'released', releasedAt: new Date(), tenantId: null, agentId: null, campaignTracking: false };
		}
		default:
			return {};
	}
}

export interface AdvanceResult {
	status: PhoneNumberStatus;
	error: string | null;
	/** False when another run holds the number (it is being advanced right now). */
	ran: boolean;
}

/**
 * Runs the number's steps until it is stable (active or released) or a step fails. Holds the row lock while it
 * talks to the providers, so one run at a time advances a number; others skip it.
 */
export async function advanceNumber(ctx: ServiceCtx, numberId: string): Promise<AdvanceResult> {
	return inTransaction(ctx.db, async (tx) => {
		const [locked] = await tx.select().from(phoneNumber).where(eq(phoneNumber.id, numberId)).for('update', { skipLocked: true });
		if (!locked) {
			const [row] = await tx.select({ status: phoneNumber.status }).from(phoneNumber).where(eq(phoneNumber.id, numberId));
			return { status: (row?.status ?? 'released') as PhoneNumberStatus, error: null, ran: false };
		}
		let row: NumberRow = locked;
		const stepCtx = { ...ctx, db: tx };
		for (let i = 0; i < MAX_STEPS && (TRANSITIONAL_NUMBER_STATUSES as readonly string[]).includes(row.status); i++) {
			let partial: Partial<NumberRow> = {};
			try {
				const patch = await step(stepCtx, row, (p) => (partial = { ...partial, ...p }));
				[row] = await tx
					.update(phoneNumber)
					.set({ ...partial, ...patch, attempts: 0, nextAttemptAt: null, lastError: null, updatedAt: new Date() })
					.where(eq(phoneNumber.id, row.id))
					.returning();
			} catch (err) {
				if (!(err instanceof UpstreamError || err instanceof TwilioProviderError)) throw err;
				const attempts = row.attempts + 1;
				const error = describe(err);
				log.info('number step failed; will retry', { numberId: row.id, status: row.status, attempts, error });
				await tx
					.update(phoneNumber)
					.set({ ...partial, attempts, lastError: error, nextAttemptAt: new Date(Date.now() + retryDelayMs(attempts)), updatedAt: new Date() })
					.where(eq(phoneNumber.id, row.id));
				return { status: row.status as PhoneNumberStatus, error, ran: true };
			}
		}
		return { status: row.status as PhoneNumberStatus, error: null, ran: true };
	});
}

/** The resume job's verb: advances every number whose retry is due (oldest first, at most `limit`). */
export async function resumePendingNumbers({ ctx, input = {} }: { ctx: ServiceCtx; input?: { limit?: number; now?: Date; numberIds?: string[] } }) {
	const now = input.now ?? new Date();
	const due = await (ctx.db as DbOrTx)
		.select({ id: phoneNumber.id })
		.from(phoneNumber)
		.where(
			and(
				inArray(phoneNumber.status, [...TRANSITIONAL_NUMBER_STATUSES]),
				input.numberIds ? inArray(phoneNumber.id, input.numberIds) : undefined,
				or(isNull(phoneNumber.nextAttemptAt), lte(phoneNumber.nextAttemptAt, now))
			)
		)
		.orderBy(asc(sql`coalesce(${phoneNumber.nextAttemptAt}, ${phoneNumber.updatedAt})`))
		.limit(input.limit ?? 20);
	const results: Array<AdvanceResult & { numberId: string }> = [];
	for (const { id } of due) results.push({ numberId: id, ...(await advanceNumber(ctx, id)) });
	return results;
}
