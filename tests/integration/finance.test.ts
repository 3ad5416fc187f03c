import { eq, sql } from 'drizzle-orm';
import Papa from 'papaparse';
import { addDecimals } from '../../src/lib/decimal';
import { minutesCsv } from '../../src/lib/server/services/finance/csv';
import { exportTenantMinutes } from '../../src/lib/server/services/finance/index';
import { afterAll, describe, expect, it } from 'vitest';
import { statement, statementLine, telephonyRate, upstreamCreditRate } from '../../src/lib/server/db/schema/index';
import type { ConversationSnapshot } from '../../src/lib/server/ingest/snapshot';
import { upsertConversationSnapshots } from '../../src/lib/server/ingest/upsert';
import { systemActor, userActor, type ServiceCtx } from '../../src/lib/server/services/context';
import { billableSeconds, saveBillingRule, type BillingRuleInput } from '../../src/lib/server/services/finance/rules';
import { closeMonth, getStatement, previewTenantMonth, reopenStatement } from '../../src/lib/server/services/finance/statements';
import { computeUsage, monthWindow } from '../../src/lib/server/services/finance/usage';
import { createTestConnection, uniqueId } from '../factories/ingest';
import { createTestTenant } from '../factories/tenant';
import { createTestUser } from '../factories/users';
import { connectTestStores } from '../setup/stores';

// Billing rules, costs and the monthly close against the real PostgreSQL: the SQL that bills is checked against the
// TypeScript statement of the same rule, month bounds are the tenant's local midnights, and closed statements are
// immutable in the database itself.
const stores = connectTestStores();
afterAll(() => stores.close());
const db = stores.db.db;

/** drizzle wraps the database's error ("Failed query: …"); the trigger's message is on the cause. */
const refusedBy = (re: RegExp) => (err: unknown) => re.test(String((err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message));

async function platformCtx(): Promise<ServiceCtx> {
	const admin = await createTestUser(db, { label: 'finance-admin', isPlatformAdmin: true });
	return { db, actor: userActor(admin) };
}

const RULE: BillingRuleInput = {
	effectiveFrom: '2024-01',
	rounding: 'per_second',
	minBillableSecs: 0,
	countFailedCalls: false,
	includedMinutes: 0,
	pricePerMinute: '0.60',
	pricePerConversion: '0'
};

async function world(opts: { timezone?: string } = {}) {
	const t = await createTestTenant(db, { timezone: opts.timezone ?? 'America/New_York' });
	const conn = await createTestConnection(db, { tenantId: t.id });
	let n = 0;
	const call = (startedAt: string, durationSecs: number, extra: Partial<ConversationSnapshot> = {}): ConversationSnapshot => ({
		connectionId: conn.id,
		conversationId: uniqueId(`conv${n++}`),
		agentId: 'agent_front',
		source: 'poll',
		observedAt: new Date(startedAt),
		status: 'done',
		startedAt: new Date(startedAt),
		durationSecs,
		cost: '100.000000',
		agentNumber: '+14155550100',
		...extra
	});
	const store = (snapshots: ConversationSnapshot[]) => upsertConversationSnapshots({ ctx: { db }, input: { snapshots } });
	return { t, conn, call, store };
}

describe('billing rules', () => {
	const cases: [string, Partial<BillingRuleInput>, number[]][] = [
		// seconds:                                       0   1   59  60  61
		['per second', { rounding: 'per_second' }, [0, 1, 59, 60, 61]],
		['per call up to the minute', { rounding: 'per_minute' }, [0, 60, 60, 60, 120]],
		['per call up to 30 seconds', { rounding: 'per_n_seconds', roundToSecs: 30 }, [0, 30, 60, 60, 90]],
		['per second, 30 s minimum', { rounding: 'per_second', minBillableSecs: 30 }, [30, 30, 59, 60, 61]],
		['per minute, 90 s minimum', { rounding: 'per_minute', minBillableSecs: 90 }, [120, 120, 120, 120, 120]]
	];
	it.each(cases)('%s bills 0, 1, 59, 60 and 61 s calls as expected, in SQL and in TypeScript alike', async (_name, rule, want) => {
		const ctx = await platformCtx();
		const w = await world();
		const saved = await saveBillingRule({ ctx, input: { ...RULE, ...rule, tenantId: w.t.id } });
		const durations = [0, 1, 59, 60, 61];
		await w.store(durations.map((d, i) => w.call(`2025-01-1${i}T15:00:00Z`, d, { agentId: `agent_${d}` })));
		const usage = await computeUsage(db, { tenantId: w.t.id, ...monthWindow('2025-01', w.t.timezone), rule: saved });
		const bySecs = new Map(usage.map((u) => [u.agentId, u.billableSecs]));
		expect(durations.map((d) => bySecs.get(`agent_${d}`))).toEqual(want);
		expect(durations.map((d) => billableSeconds(saved, { status: 'done', durationSecs: d }))).toEqual(want);
	});

	it('bills failed (unanswered) calls only when the rule counts them', async () => {
		const ctx = await platformCtx();
		const w = await world();
		await w.store([w.call('2025-01-10T15:00:00Z', 0, { status: 'failed', agentId: 'agent_failed' }), w.call('2025-01-10T16:00:00Z', 30)]);
		// A failed call lasts 0 s: with a minimum it is billed the minimum (rounded up), when the rule counts it.
		const without = await saveBillingRule({ ctx, input: { ...RULE, rounding: 'per_minute', minBillableSecs: 30, tenantId: w.t.id } });
		const window = monthWindow('2025-01', w.t.timezone);
		const a = await computeUsage(db, { tenantId: w.t.id, ...window, rule: without });
		expect(a.map((u) => [u.agentId, u.calls, u.billableSecs])).toEqual([
			['agent_failed', 1, 0],
			['agent_front', 1, 60]
		]);
		const withFailed = await saveBillingRule({ ctx, input: { ...RULE, rounding: 'per_minute', minBillableSecs: 30, countFailedCalls: true, tenantId: w.t.id } });
		expect(withFailed.version).toBe(without.version + 1);
		const b = await computeUsage(db, { tenantId: w.t.id, ...window, rule: withFailed });
		expect(b.map((u) => [u.agentId, u.billableSecs])).toEqual([
			['agent_failed', 60],
			['agent_front', 60]
		]);
		// An in-progress call is not billed until it is final.
		await w.store([w.call('2025-01-11T15:00:00Z', 500, { status: 'in-progress', agentId: 'agent_live' })]);
		expect((await computeUsage(db, { tenantId: w.t.id, ...window, rule: withFailed })).map((u) => u.agentId)).not.toContain('agent_live');
	});

	it('charges only what crosses the included allowance, from the call that crosses it mid-month', async () => {
		const ctx = await platformCtx();
		const w = await world();
		// 10 included minutes; calls of 4, 4, 4 and 4 minutes: the third crosses the allowance by 2 minutes.
		const rule = await saveBillingRule({ ctx, input: { ...RULE, includedMinutes: 10, pricePerMinute: '1.50', tenantId: w.t.id } });
		await w.store([
			w.call('2025-01-03T15:00:00Z', 240, { agentId: 'agent_a' }),
			w.call('2025-01-09T15:00:00Z', 240, { agentId: 'agent_a' }),
			w.call('2025-01-15T15:00:00Z', 240, { agentId: 'agent_b' }),
			w.call('2025-01-28T15:00:00Z', 240, { agentId: 'agent_b' })
		]);
		const p = await previewTenantMonth(db, w.t, '2025-01');
		expect(p.rule?.id).toBe(rule.id);
		expect(p.totals).toMatchObject({ calls: 4, billableSecs: 960, chargeableSecs: 360, allowanceUsedSecs: 600, price: '9.00' });
		expect(p.agents.map((a) => [a.agentId, a.chargeableSecs, a.price])).toEqual([
			['agent_a', 0, '0.00'],
			['agent_b', 360, '9.00']
		]);
	});
});

describe('costs', () => {
	it('prices credits per connection and telephony per started minute of the number that carried the call', async () => {
		const ctx = await platformCtx();
		const w = await world();
		await saveBillingRule({ ctx, input: { ...RULE, tenantId: w.t.id } });
		await db.insert(upstreamCreditRate).values({ connectionId: w.conn.id, perCredit: '0.000180000' });
		const special = `+1415555${Math.floor(1000 + Math.random() * 8999)}`;
		await db.insert(telephonyRate).values([
			{ tenantId: w.t.id, phoneNumber: null, perMinute: '0.013' },
			{ tenantId: w.t.id, phoneNumber: special, perMinute: '0.0085' }
		]);
		await w.store([
			w.call('2025-01-10T15:00:00Z', 61, { cost: '1234.500000' }), // 2 started minutes at the tenant default
			w.call('2025-01-11T15:00:00Z', 120, { cost: '0.100000', agentNumber: special }) // 2 minutes at the number's rate
		]);
		const p = await previewTenantMonth(db, w.t, '2025-01');
		// 1234.6 credits × 0.00018 = 0.222228; 2 × 0.013 + 2 × 0.0085 = 0.043
		expect(p.totals).toMatchObject({ calls: 2, connectedSecs: 181, upstreamCost: '0.222228', telephonyCost: '0.043000', price: '1.81' });
	});
});

describe('month boundaries in the tenant timezone', () => {
	it('cuts March at New York midnights across the DST change (EST on the 1st, EDT on the 31st)', async () => {
		const w = await world({ timezone: 'America/New_York' });
		await w.store([
			w.call('2025-03-01T04:59:59Z', 10, { agentId: 'feb_last_second' }), // Feb 28, 23:59:59 EST
			w.call('2025-03-01T05:00:00Z', 20, { agentId: 'mar_first_second' }), // Mar 1, 00:00 EST
			w.call('2025-04-01T03:59:59Z', 30, { agentId: 'mar_last_second' }), // Mar 31, 23:59:59 EDT
			w.call('2025-04-01T04:00:00Z', 40, { agentId: 'apr_first_second' }) // Apr 1, 00:00 EDT
		]);
		const window = monthWindow('2025-03', 'America/New_York');
		expect(window).toEqual({ start: new Date('2025-03-01T05:00:00Z'), end: new Date('2025-04-01T04:00:00Z') });
		const p = await previewTenantMonth(db, w.t, '2025-03');
		expect(p.agents.map((a) => a.agentId)).toEqual(['mar_first_second', 'mar_last_second']);
		// November: EDT on the 1st, EST at the end.
		expect(monthWindow('2025-11', 'America/New_York')).toEqual({ start: new Date('2025-11-01T04:00:00Z'), end: new Date('2025-12-01T05:00:00Z') });
	});
});

describe('monthly close', () => {
	it('freezes a numbered statement; a late call becomes an adjustment on the next one; the closed one never changes', async () => {
		const ctx = await platformCtx();
		const w = await world({ timezone: 'Europe/Berlin' });
		const rule = await saveBillingRule({ ctx, input: { ...RULE, rounding: 'per_minute', pricePerMinute: '0.50', tenantId: w.t.id } });
		await w.store([w.call('2025-01-10T10:00:00Z', 61), w.call('2025-01-20T10:00:00Z', 30, { agentId: 'agent_night' })]);
		const [jan] = await closeMonth({ ctx, input: { period: '2025-01', tenantId: w.t.id } });
		expect(jan.outcome).toBe('closed');
		const janId = jan.outcome === 'closed' ? jan.statementId : '';
		const closed = await getStatement(db, { statementId: janId, tenantId: w.t.id });
		expect(closed.statement).toMatchObject({ period: '2025-01', ruleVersion: rule.version, calls: 2, billableSecs: 180, usagePrice: '1.50', totalPrice: '1.50', status: 'closed' });
		expect(closed.lines.map((l) => [l.kind, l.agentId, l.billableSecs, l.price])).toEqual([
			['usage', 'agent_front', 120, '1.00'],
			['usage', 'agent_night', 60, '0.50']
		]);
		// Closing again is a no-op that names the statement.
		expect((await closeMonth({ ctx, input: { period: '2025-01', tenantId: w.t.id } }))[0]).toMatchObject({ outcome: 'already-closed', statementId: janId });

		// A late webhook for January (a call on Jan 31, 23:30 Berlin time) arrives after the close.
		await w.store([w.call('2025-01-31T22:30:00Z', 125, { agentId: 'agent_night' })]);
		await w.store([w.call('2025-02-05T10:00:00Z', 10)]);
		const frozen = await getStatement(db, { statementId: janId });
		expect(frozen.statement).toMatchObject({ calls: 2, billableSecs: 180, totalPrice: '1.50' });
		const preview = await previewTenantMonth(db, w.t, '2025-02');
		expect(preview.adjustments).toEqual([expect.objectContaining({ correctsPeriod: '2025-01', calls: 1, billableSecs: 180, price: '1.50' })]);

		const [feb] = await closeMonth({ ctx, input: { period: '2025-02', tenantId: w.t.id } });
		const febStatement = await getStatement(db, { statementId: feb.outcome === 'closed' ? feb.statementId : '' });
		expect(febStatement.statement).toMatchObject({ usagePrice: '0.50', adjustmentsPrice: '1.50', totalPrice: '2.00' });
		expect(febStatement.statement.number).toBeGreaterThan(closed.statement.number);
		expect(febStatement.lines.filter((l) => l.kind === 'adjustment')).toEqual([
			expect.objectContaining({ correctsPeriod: '2025-01', correctsStatementId: janId, calls: 1, connectedSecs: 125, billableSecs: 180, price: '1.50' })
		]);
		// Once booked, the correction is not repeated on the month after.
		expect((await previewTenantMonth(db, w.t, '2025-03')).adjustments).toEqual([]);

		// The minutes CSV (streamed through papaparse) adds up to PostgreSQL's own figures, to the second and the cent.
		const tenantCtx = { db, actor: ctx.actor, tenant: w.t, role: 'finance' as const };
		const text = await new Response(minutesCsv(await exportTenantMinutes({ ctx: tenantCtx, input: { from: '2025-01', to: '2025-02' } }))).text();
		const parsed = Papa.parse<Record<string, string>>(text.trim(), { header: true });
		expect(parsed.data.map((r) => [r.period, r.line, r.statement_number])).toEqual([
			['2025-01', 'usage', String(closed.statement.number)],
			['2025-02', 'usage', String(febStatement.statement.number)],
			['2025-02', 'adjustment', String(febStatement.statement.number)]
		]);
		const csvSecs = parsed.data.reduce((n, r) => n + Number(r.connected_seconds), 0);
		const csvPrice = addDecimals(parsed.data.map((r) => r.price), 2);
		const [pg] = (await db.execute(sql`
			select (select sum(duration_secs) from conversation where tenant_id = ${w.t.id} and status in ('done', 'failed')
					and started_at >= ${monthWindow('2025-01', w.t.timezone).start.toISOString()}::timestamptz
					and started_at < ${monthWindow('2025-02', w.t.timezone).end.toISOString()}::timestamptz)::int as secs,
				(select sum(total_price) from statement where tenant_id = ${w.t.id} and status = 'closed')::text as price`)) as unknown as { secs: number; price: string }[];
		expect({ secs: csvSecs, price: csvPrice }).toEqual({ secs: pg.secs, price: pg.price });
		expect(pg).toEqual({ secs: 61 + 30 + 125 + 10, price: '3.50' });
	});

	it('refuses a direct UPDATE or DELETE of a closed statement and its lines, in the database', async () => {
		const ctx = await platformCtx();
		const w = await world();
		await w.store([w.call('2025-01-10T15:00:00Z', 60)]);
		const [r] = await closeMonth({ ctx, input: { period: '2025-01', tenantId: w.t.id } });
		const id = r.outcome === 'closed' ? r.statementId : '';
		await expect(db.execute(sql`update statement set total_price = 0 where id = ${id}`)).rejects.toSatisfy(refusedBy(/cannot be changed/));
		await expect(db.execute(sql`delete from statement where id = ${id}`)).rejects.toSatisfy(refusedBy(/cannot be changed/));
		await expect(db.execute(sql`update statement_line set price = 0 where statement_id = ${id}`)).rejects.toSatisfy(refusedBy(/cannot be changed/));
		await expect(db.execute(sql`delete from statement_line where statement_id = ${id}`)).rejects.toSatisfy(refusedBy(/cannot be changed/));
		await expect(db.insert(statementLine).values({ statementId: id, kind: 'adjustment', calls: 1, connectedSecs: 1, billableSecs: 1, chargeableSecs: 1, upstreamCost: '0', telephonyCost: '0', price: '9.99' })).rejects.toSatisfy(refusedBy(/closes their statement/));
		// Even with the reopen flag, only the status change goes through, never a figure.
		await expect(
			db.transaction(async (tx) => {
				await tx.execute(sql`set local voxcalls.statement_reopen = 'on'`);
				await tx.execute(sql`update statement set status = 'reopened', reopened_at = now(), reopened_by = 'x', reopen_reason = 'why', calls = 999 where id = ${id}`);
			})
		).rejects.toSatisfy(refusedBy(/cannot be changed/));
		expect((await db.select().from(statement).where(eq(statement.id, id)))[0]).toMatchObject({ status: 'closed', totalPrice: '0.00' });
	});

	it('lets a platform admin reopen the latest statement with a reason, audited, and close the month again', async () => {
		const ctx = await platformCtx();
		const w = await world();
		await w.store([w.call('2025-01-10T15:00:00Z', 60)]);
		const [r] = await closeMonth({ ctx, input: { period: '2025-01', tenantId: w.t.id } });
		const id = r.outcome === 'closed' ? r.statementId : '';
		await expect(reopenStatement({ ctx: { db, actor: systemActor('job') }, input: { statementId: id, reason: 'wrong rate' } })).rejects.toThrow(/Platform admins/);
		await expect(reopenStatement({ ctx, input: { statementId: id, reason: ' ' } })).rejects.toThrow(/reason/);
		const reopened = await reopenStatement({ ctx, input: { statementId: id, reason: 'Rate agreed in January was wrong' } });
		expect(reopened).toMatchObject({ status: 'reopened', reopenReason: 'Rate agreed in January was wrong' });
		await expect(db.execute(sql`update statement set reopen_reason = 'edited' where id = ${id}`)).rejects.toSatisfy(refusedBy(/cannot be changed/));
		const audit = await db.execute(sql`select action from audit_log where target_id = ${id} order by at`);
		expect((audit as unknown as { action: string }[]).map((a) => a.action)).toEqual(['statement.close', 'statement.reopen']);
		const [again] = await closeMonth({ ctx, input: { period: '2025-01', tenantId: w.t.id } });
		expect(again.outcome).toBe('closed');
		expect(again.outcome === 'closed' && again.statementId).not.toBe(id);
	});

	it('does not close a month that has not ended in the tenant’s timezone', async () => {
		const ctx = await platformCtx();
		const w = await world({ timezone: 'Pacific/Auckland' });
		// 2025-01-31T12:00Z is already February 1st in Auckland, but still January 31st in New York.
		const now = new Date('2025-01-31T12:00:00Z');
		expect((await closeMonth({ ctx, input: { period: '2025-01', tenantId: w.t.id, now } }))[0].outcome).toBe('closed');
		const ny = await world({ timezone: 'America/New_York' });
		expect((await closeMonth({ ctx, input: { period: '2025-01', tenantId: ny.t.id, now } }))[0].outcome).toBe('not-ended');
	});
});
