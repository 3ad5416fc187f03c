import { and, asc, desc, eq, ne, isNull, or, sql, type SQL } from 'drizzle-orm';
import { parsePhoneNumberWithError } from 'libphonenumber-js';
import { inTransaction, type DbOrTx } from '../../db/client';
import { elevenlabsAgent, elevenlabsConnection, phoneNumber, tenant, type PhoneNumberStatus } from '../../db/schema/index';
import { DomainError } from '../../errors';
import { assertPlatformActor } from '../context';
import { toReadableTwilioError, type AvailableNumber } from '../../twilio/index';
import { recordAudit } from '../audit/index';
import { isUuid } from '../../ingest/connections';
import type { ServiceCtx, TenantServiceCtx } from '../context';
import { advanceNumber, type AdvanceResult } from './lifecycle';
import { twilioAccountRow, twilioFor } from './twilio-accounts';

export { resumePendingNumbers, advanceNumber } from './lifecycle';

// The phone-number pool. Platform admins search, buy, assign and release; tenant admins claim pool numbers
// for their tenant and give them back. Every change is written first (the desired state, audited), then the
// providers are brought to it by the lifecycle (lifecycle.ts), now and by the resume job after a failure.

export interface NumberView {
	id: string;
	e164: string;
	friendlyName: string | null;
	country: string;
	status: PhoneNumberStatus;
	connectionId: string;
	connectionName: string;
	twilioAccountId: string;
	tenantId: string | null;
	tenantName: string | null;
	agentId: string | null;
	agentName: string | null;
	campaignTracking: boolean;
	lastError: string | null;
	attempts: number;
	nextAttemptAt: Date | null;
	createdAt: Date;
}

function numberQuery(db: DbOrTx) {
	return db
		.select({
			id: phoneNumber.id,
			e164: phoneNumber.e164,
			friendlyName: phoneNumber.friendlyName,
			country: phoneNumber.country,
			status: phoneNumber.status,
			connectionId: phoneNumber.connectionId,
			connectionName: elevenlabsConnection.name,
			twilioAccountId: phoneNumber.twilioAccountId,
			tenantId: phoneNumber.tenantId,
			tenantName: tenant.name,
			agentId: phoneNumber.agentId,
			agentName: elevenlabsAgent.name,
			campaignTracking: phoneNumber.campaignTracking,
			lastError: phoneNumber.lastError,
			attempts: phoneNumber.attempts,
			nextAttemptAt: phoneNumber.nextAttemptAt,
			createdAt: phoneNumber.createdAt
		})
		.from(phoneNumber)
		.innerJoin(elevenlabsConnection, eq(elevenlabsConnection.id, phoneNumber.connectionId))
		.leftJoin(tenant, eq(tenant.id, phoneNumber.tenantId))
		.leftJoin(elevenlabsAgent, and(eq(elevenlabsAgent.connectionId, phoneNumber.connectionId), eq(elevenlabsAgent.agentId, phoneNumber.agentId)));
}

async function numberViewOrThrow(db: DbOrTx, id: string, scope?: SQL): Promise<NumberView> {
	if (!isUuid(id)) throw new DomainError('NOT_FOUND', 'Number not found');
	const [row] = await numberQuery(db).where(and(eq(phoneNumber.id, id), scope));
	if (!row) throw new DomainError('NOT_FOUND', 'Number not found');
	return row;
}

export async function listNumbers({
	ctx,
	input = {}
}: {
	ctx: ServiceCtx;
	input?: { includeReleased?: boolean; tenantId?: string; search?: string };
}): Promise<NumberView[]> {
	assertPlatformActor(ctx.actor);
	const q = input.search?.replace(/[^0-9+]/g, '');
	return numberQuery(ctx.db)
		.where(
			and(
				input.includeReleased ? undefined : ne(phoneNumber.status, 'released'),
				input.tenantId && isUuid(input.tenantId) ? eq(phoneNumber.tenantId, input.tenantId) : undefined,
				q ? sql`${phoneNumber.e164} like ${'%' + q + '%'}` : undefined
			)
		)
		.orderBy(asc(phoneNumber.e164), desc(phoneNumber.createdAt));
}

export async function searchAvailableNumbers({
	ctx,
	input
}: {
	ctx: ServiceCtx;
	input: { twilioAccountId: string; country: string; areaCode?: number; contains?: string; limit?: number };
}): Promise<AvailableNumber[]> {
	assertPlatformActor(ctx.actor);
	const account = await twilioAccountRow(ctx.db, input.twilioAccountId);
	try {
		return await twilioFor(account).search(input);
	} catch (err) {
		throw toReadableTwilioError(err, 'search numbers');
	}
}

function toE164(raw: string): { e164: string; country: string } {
	try {
		const p = parsePhoneNumberWithError(raw);
		if (!p.isPossible()) throw new Error('impossible');
		return { e164: p.number, country: p.country ?? 'US' };
	} catch {
		throw new DomainError('BAD_INPUT', `${raw} is not a phone number in international (E.164) form`);
	}
}

export interface BuyNumberInput {
	twilioAccountId: string;
	connectionId: string;
	e164: string;
	friendlyName?: string;
}

/**
 * Buys a number at Twilio and imports it into ElevenLabs. The row (state `purchasing`) commits before Twilio is
 * called, so a crash at any point leaves a row the resume job finishes.
 */
export async function buyNumber({ ctx, input }: { ctx: ServiceCtx; input: BuyNumberInput }): Promise<{ number: NumberView; advance: AdvanceResult }> {
	assertPlatformActor(ctx.actor);
	const { e164, country } = toE164(input.e164);
	const id = await inTransaction(ctx.db, async (tx) => {
		await twilioAccountRow(tx, input.twilioAccountId);
		if (!isUuid(input.connectionId)) throw new DomainError('NOT_FOUND', 'Connection not found');
		const [conn] = await tx.select({ id: elevenlabsConnection.id }).from(elevenlabsConnection).where(eq(elevenlabsConnection.id, input.connectionId));
		if (!conn) throw new DomainError('NOT_FOUND', 'Connection not found');
		const [held] = await tx.select({ id: phoneNumber.id }).from(phoneNumber).where(and(eq(phoneNumber.e164, e164), ne(phoneNumber.status, 'released')));
		if (held) throw new DomainError('CONFLICT', `${e164} is already in the pool`);
		const [row] = await tx
			.insert(phoneNumber)
			.values({ e164, country, twilioAccountId: input.twilioAccountId, connectionId: input.connectionId, friendlyName: input.friendlyName ?? null, status: 'purchasing' })
			.returning({ id: phoneNumber.id });
		await recordAudit(tx, ctx, { tenantId: null, action: 'number.buy', targetType: 'phone_number', targetId: row.id, after: { e164, connectionId: input.connectionId } });
		return row.id;
	});
	const advance = await advanceNumber(ctx, id);
	return { number: await numberViewOrThrow(ctx.db, id), advance };
}

/** Checks that the agent exists on the number's connection and belongs to the tenant. */
async function assertAgentOfTenant(db: DbOrTx, connectionId: string, agentId: string, tenantId: string): Promise<void> {
	const [a] = await db
		.select({ tenantId: elevenlabsAgent.tenantId })
		.from(elevenlabsAgent)
		.where(and(eq(elevenlabsAgent.connectionId, connectionId), eq(elevenlabsAgent.agentId, agentId)));
	if (!a) throw new DomainError('NOT_FOUND', 'Agent not found on this number’s ElevenLabs connection');
	if (a.tenantId !== tenantId) throw new DomainError('BAD_INPUT', 'That agent belongs to another tenant; map it to this tenant first');
}

async function setAssignment(
	ctx: ServiceCtx,
	numberId: string,
	scope: SQL | undefined,
	next: (row: typeof phoneNumber.$inferSelect) => { tenantId: string | null; agentId: string | null; campaignTracking: boolean },
	action: string
): Promise<{ number: NumberView; advance: AdvanceResult }> {
	if (!isUuid(numberId)) throw new DomainError('NOT_FOUND', 'Number not found');
	await inTransaction(ctx.db, async (tx) => {
		const [row] = await tx.select().from(phoneNumber).where(and(eq(phoneNumber.id, numberId), scope)).for('update');
		if (!row) throw new DomainError('NOT_FOUND', 'Number not found');
		if (row.status !== 'active' && row.status !== 'syncing')
			throw new DomainError('CONFLICT', row.status === 'released' || row.status === 'releasing' ? 'This number is being released' : 'This number is still being set up; try again when it is active');
		const want = next(row);
		if (want.agentId && !want.tenantId) throw new DomainError('BAD_INPUT', 'Choose the tenant the agent belongs to');
		if (want.agentId && want.tenantId) await assertAgentOfTenant(tx, row.connectionId, want.agentId, want.tenantId);
		if (want.tenantId && want.tenantId !== row.tenantId) {
			const [t] = await tx.select({ id: tenant.id }).from(tenant).where(eq(tenant.id, want.tenantId));
			if (!t) throw new DomainError('NOT_FOUND', 'Tenant not found');
		}
		// Only an agent change needs upstream; the tenant and the tracking flag are ours alone.
		const agentChanged = want.agentId !== row.agentId || row.status === 'syncing';
		await tx
			.update(phoneNumber)
			.set({ ...want, ...(agentChanged ? { status: 'syncing', attempts: 0, nextAttemptAt: null, lastError: null } : {}), updatedAt: new Date() })
			.where(eq(phoneNumber.id, row.id));
		await recordAudit(tx, ctx, {
			tenantId: want.tenantId ?? row.tenantId,
			action,
			targetType: 'phone_number',
			targetId: row.id,
			before: { e164: row.e164, tenantId: row.tenantId, agentId: row.agentId, campaignTracking: row.campaignTracking },
			after: { e164: row.e164, ...want }
		});
	});
	const advance = await advanceNumber(ctx, numberId);
	// Unscoped on purpose: the scope was checked above, and giving a number back takes it out of the scope.
	return { number: await numberViewOrThrow(ctx.db, numberId), advance };
}

export async function assignNumber({
	ctx,
	input
}: {
	ctx: ServiceCtx;
	input: { numberId: string; tenantId: string | null; agentId: string | null; campaignTracking?: boolean };
}) {
	assertPlatformActor(ctx.actor);
	return setAssignment(
		ctx,
		input.numberId,
		undefined,
		(row) => ({ tenantId: input.tenantId, agentId: input.agentId, campaignTracking: input.tenantId ? (input.campaignTracking ?? row.campaignTracking) : false }),
		'number.assign'
	);
}

/** Starts releasing: unassign, delete from ElevenLabs, release at Twilio. `confirmE164` must repeat the number. */
export async function releaseNumber({ ctx, input }: { ctx: ServiceCtx; input: { numberId: string; confirmE164: string } }) {
	assertPlatformActor(ctx.actor);
	if (!isUuid(input.numberId)) throw new DomainError('NOT_FOUND', 'Number not found');
	await inTransaction(ctx.db, async (tx) => {
		const [row] = await tx.select().from(phoneNumber).where(eq(phoneNumber.id, input.numberId)).for('update');
		if (!row) throw new DomainError('NOT_FOUND', 'Number not found');
		if (input.confirmE164.replace(/[^0-9+]/g, '') !== row.e164) throw new DomainError('BAD_INPUT', `Type ${row.e164} to confirm the release`);
		if (row.status === 'released') return;
		await tx
			.update(phoneNumber)
			.set({ status: 'releasing', attempts: 0, nextAttemptAt: null, lastError: null, updatedAt: new Date() })
			.where(eq(phoneNumber.id, row.id));
		await recordAudit(tx, ctx, {
			tenantId: row.tenantId,
			action: 'number.release',
			targetType: 'phone_number',
			targetId: row.id,
			before: { e164: row.e164, status: row.status, tenantId: row.tenantId, agentId: row.agentId }
		});
	});
	const advance = await advanceNumber(ctx, input.numberId);
	return { number: await numberViewOrThrow(ctx.db, input.numberId), advance };
}

/** "Retry now" on a number whose last step failed. */
export async function retryNumber({ ctx, input }: { ctx: ServiceCtx; input: { numberId: string } }) {
	assertPlatformActor(ctx.actor);
	await numberViewOrThrow(ctx.db, input.numberId);
	const advance = await advanceNumber(ctx, input.numberId);
	return { number: await numberViewOrThrow(ctx.db, input.numberId), advance };
}

// ---------------------------------------------------------------------------------------------------------------
// Tenant admins: the tenant's numbers and the pool's free ones.

export async function listTenantNumbers({ ctx }: { ctx: TenantServiceCtx }): Promise<{ mine: NumberView[]; pool: NumberView[] }> {
	const rows = await numberQuery(ctx.db)
		.where(and(ne(phoneNumber.status, 'released'), or(eq(phoneNumber.tenantId, ctx.tenant.id), and(isNull(phoneNumber.tenantId), eq(phoneNumber.status, 'active')))))
		.orderBy(asc(phoneNumber.e164));
	// Pool rows carry nothing of another tenant (they have none); connection names are platform detail.
	const strip = (n: NumberView): NumberView => ({ ...n, connectionName: '', lastError: null });
	return { mine: rows.filter((n) => n.tenantId === ctx.tenant.id).map(strip), pool: rows.filter((n) => n.tenantId === null).map(strip) };
}

export async function claimNumber({ ctx, input }: { ctx: TenantServiceCtx; input: { numberId: string; agentId?: string | null } }) {
	const tenantId = ctx.tenant.id;
	const r = await setAssignment(
		ctx,
		input.numberId,
		or(isNull(phoneNumber.tenantId), eq(phoneNumber.tenantId, tenantId)),
		(row) => ({ tenantId, agentId: input.agentId ?? null, campaignTracking: row.tenantId === tenantId ? row.campaignTracking : false }),
		'number.claim'
	);
	return { ...r, number: { ...r.number, connectionName: '' } };
}

export async function giveBackNumber({ ctx, input }: { ctx: TenantServiceCtx; input: { numberId: string } }) {
	const r = await setAssignment(ctx, input.numberId, eq(phoneNumber.tenantId, ctx.tenant.id), () => ({ tenantId: null, agentId: null, campaignTracking: false }), 'number.give_back');
	return { numberId: r.number.id, status: r.number.status };
}

/** Numbers a campaign may use as tracking numbers: the tenant's, flagged, by E.164 (the campaigns' join key). */
export async function listTenantTrackingNumbers(db: DbOrTx, tenantId: string): Promise<string[]> {
	const rows = await db
		.select({ e164: phoneNumber.e164 })
		.from(phoneNumber)
		.where(and(eq(phoneNumber.tenantId, tenantId), eq(phoneNumber.campaignTracking, true), ne(phoneNumber.status, 'released')));
	return rows.map((r) => r.e164);
}

