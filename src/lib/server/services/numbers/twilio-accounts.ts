import { asc, eq } from 'drizzle-orm';
import { openSecret, sealSecret, secretHint } from '../../crypto/secrets';
import { inTransaction, type DbOrTx } from '../../db/client';
import { twilioAccount } from '../../db/schema/index';
import { env } from '../../env';
import { DomainError } from '../../errors';
import { assertPlatformActor } from '../context';
import { createTwilioNumbers, toReadableTwilioError, type TwilioNumbers } from '../../twilio/index';
import { recordAudit } from '../audit/index';
import { isUuid } from '../../ingest/connections';
import type { ServiceCtx } from '../context';

// Twilio accounts numbers are bought from. The auth token is write-only: sealed at rest, last four shown.

export interface TwilioAccountView {
	id: string;
	name: string;
	accountSid: string;
	authTokenHint: string;
	baseUrl: string;
	updatedAt: Date;
}

const view = (r: typeof twilioAccount.$inferSelect): TwilioAccountView => ({
	id: r.id,
	name: r.name,
	accountSid: r.accountSid,
	authTokenHint: r.authTokenHint,
	baseUrl: r.baseUrl,
	updatedAt: r.updatedAt
});

export async function listTwilioAccounts({ ctx }: { ctx: ServiceCtx }): Promise<TwilioAccountView[]> {
	assertPlatformActor(ctx.actor);
	return (await ctx.db.select().from(twilioAccount).orderBy(asc(twilioAccount.name))).map(view);
}

function normaliseBaseUrl(raw: string | undefined): string {
	const v = raw ?? env().TWILIO_BASE_URL;
	try {
		const u = new URL(v);
		if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('protocol');
		return u.origin;
	} catch {
		throw new DomainError('BAD_INPUT', 'The Twilio base URL is not an http(s) URL');
	}
}

export interface SaveTwilioAccountInput {
	/** Absent: create. */
	twilioAccountId?: string;
	name: string;
	accountSid: string;
	/** Required on create; omit to keep the stored token. */
	authToken?: string;
	baseUrl?: string;
}

export async function saveTwilioAccount({ ctx, input }: { ctx: ServiceCtx; input: SaveTwilioAccountInput }): Promise<TwilioAccountView> {
	assertPlatformActor(ctx.actor);
	const appSecret = env().APP_SECRET;
	return inTransaction(ctx.db, async (tx) => {
		const token = input.authToken
			? { authTokenSealed: sealSecret(input.authToken, appSecret), authTokenHint: secretHint(input.authToken) }
			: null;
		let row: typeof twilioAccount.$inferSelect;
		let before: TwilioAccountView | null = null;
		if (input.twilioAccountId) {
			const existing = await twilioAccountRow(tx, input.twilioAccountId);
			before = view(existing);
			[row] = await tx
				.update(twilioAccount)
				.set({ name: input.name, accountSid: input.accountSid, baseUrl: normaliseBaseUrl(input.baseUrl ?? existing.baseUrl), ...(token ?? {}), updatedAt: new Date() })
				.where(eq(twilioAccount.id, existing.id))
				.returning();
		} else {
			if (!token) throw new DomainError('BAD_INPUT', 'Give the Twilio auth token');
			const [dup] = await tx.select({ id: twilioAccount.id }).from(twilioAccount).where(eq(twilioAccount.accountSid, input.accountSid));
			if (dup) throw new DomainError('CONFLICT', 'That Twilio account is already configured');
			[row] = await tx.insert(twilioAccount).values({ name: input.name, accountSid: input.accountSid, baseUrl: normaliseBaseUrl(input.baseUrl), ...token }).returning();
		}
		await recordAudit(tx, ctx, {
			tenantId: null,
			action: input.twilioAccountId ? 'twilio_account.update' : 'twilio_account.create',
			targetType: 'twilio_account',
			targetId: row.id,
			before: before ? { ...before } : null,
			after: { ...view(row), authTokenReplaced: token !== null }
		});
		return view(row);
	});
}

export async function twilioAccountRow(db: DbOrTx, id: string): Promise<typeof twilioAccount.$inferSelect> {
	if (!isUuid(id)) throw new DomainError('NOT_FOUND', 'Twilio account not found');
	const [row] = await db.select().from(twilioAccount).where(eq(twilioAccount.id, id));
	if (!row) throw new DomainError('NOT_FOUND', 'Twilio account not found');
	return row;
}

/** The Twilio numbers API for an account (server-side only: it holds the opened token). */
export function twilioFor(row: typeof twilioAccount.$inferSelect): TwilioNumbers & { accountSid: string; authToken: string } {
	const authToken = openSecret(row.authTokenSealed, env().APP_SECRET);
	return { ...createTwilioNumbers({ accountSid: row.accountSid, authToken, baseUrl: row.baseUrl }), accountSid: row.accountSid, authToken };
}

export async function testTwilioAccount({ ctx, input }: { ctx: ServiceCtx; input: { twilioAccountId: string } }): Promise<{ ok: boolean; message: string }> {
	assertPlatformActor(ctx.actor);
	const row = await twilioAccountRow(ctx.db, input.twilioAccountId);
	try {
		const a = await twilioFor(row).check();
		return { ok: true, message: `Connected to ${a.friendlyName} (${a.status})` };
	} catch (err) {
		const readable = toReadableTwilioError(err, 'check the account');
		if (!(readable instanceof DomainError)) throw err;
		return { ok: false, message: readable.message };
	}
}
