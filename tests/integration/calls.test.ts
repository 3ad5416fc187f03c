import { TRPCError } from '@trpc/server';
import { and, eq, gte, isNotNull, lt, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { todayInZone } from '../../src/lib/days';
import { conversation } from '../../src/lib/server/db/schema/index';
import { drainOutboxToClickHouse } from '../../src/lib/server/ingest/loops';
import type { ConversationSnapshot } from '../../src/lib/server/ingest/snapshot';
import { upsertConversationSnapshots } from '../../src/lib/server/ingest/upsert';
import { createCallerFactory } from '../../src/lib/server/trpc/init';
import { appRouter } from '../../src/lib/server/trpc/root';
import { createTestConnection, factoryActor, uniqueId } from '../factories/ingest';
import { createTestTenant } from '../factories/tenant';
import { createTestMember, signedInContext } from '../factories/users';
import { connectTestStores } from '../setup/stores';

// The calls dashboard against the real stores: conversations go in through the ingestion verb, reach ClickHouse
// through the relay, and come back out through the tRPC procedures a member's page calls.
const stores = connectTestStores();
afterAll(() => stores.close());
const createCaller = createCallerFactory(appRouter);
const ingestCtx = { db: stores.db.db, actor: factoryActor };
const relay = () => drainOutboxToClickHouse({ db: stores.db, ch: stores.ch });

type Call = Partial<ConversationSnapshot> & { startedAt: Date; status: string };

async function seedTenant(label: string) {
	const t = await createTestTenant(stores.db.db, { name: `Calls ${label}`, timezone: 'America/New_York' });
	const conn = await createTestConnection(stores.db.db, { tenantId: t.id });
	const viewer = await createTestMember(stores.db.db, t.id, 'viewer');
	const { ctx } = await signedInContext(stores.db.db, viewer.id, { activeTenantId: t.id });
	const snapshot = (c: Call): ConversationSnapshot => ({
		connectionId: conn.id,
		conversationId: uniqueId('conv'),
		agentId: 'agent_front',
		agentName: 'Front Desk',
		source: 'poll',
		observedAt: new Date(c.startedAt.getTime() + 600_000),
		durationSecs: 60,
		direction: 'inbound',
		cost: '100.000000',
		...c
	});
	return { t, conn, caller: createCaller(ctx), snapshot };
}

const at = (iso: string) => new Date(iso);

// A week across New York's spring-forward (Sunday 2025-03-09, 02:00 EST → 03:00 EDT).
const RANGE = { from: '2025-03-07', to: '2025-03-14' };

describe('calls dashboard', () => {
	let a: Awaited<ReturnType<typeof seedTenant>>;
	let b: Awaited<ReturnType<typeof seedTenant>>;
	const ids: Record<string, string> = {};

	beforeAll(async () => {
		a = await seedTenant('A');
		b = await seedTenant('B');
		const calls: Record<string, ConversationSnapshot> = {
			// 02:30 UTC on the 10th is 22:30 EDT on the 9th: the previous local day in New York.
			lateEvening: a.snapshot({ startedAt: at('2025-03-10T02:30:00Z'), status: 'done', callSuccessful: 'success', durationSecs: 120, externalNumber: '+14155550101', summary: 'Asked about whitening prices.', title: 'Whitening question' }),
			// 04:30 UTC on the 10th is 00:30 EDT on the 10th.
			afterMidnight: a.snapshot({ startedAt: at('2025-03-10T04:30:00Z'), status: 'failed', durationSecs: 0, cost: '5.000000', externalNumber: '+12125550199', agentId: 'agent_night', agentName: 'After Hours' }),
			saturday: a.snapshot({ startedAt: at('2025-03-08T15:00:00Z'), status: 'done', callSuccessful: 'failure', durationSecs: 300, cost: '250.500000', externalNumber: '+13105550123', summary: 'Wants to reschedule a cleaning.', title: 'Reschedule' }),
			midweek: a.snapshot({ startedAt: at('2025-03-12T13:00:00Z'), status: 'processing', durationSecs: 10, externalNumber: '+14155550177', direction: 'outbound' }),
			// Outside the range: after the 14th ends in New York (04:00 UTC on the 15th).
			outside: a.snapshot({ startedAt: at('2025-03-15T04:00:00Z'), status: 'done', callSuccessful: 'success', externalNumber: '+14155550101' }),
			// Another tenant, same days, a number that would match A's searches.
			otherTenant: b.snapshot({ startedAt: at('2025-03-10T02:30:00Z'), status: 'done', callSuccessful: 'success', durationSecs: 999, cost: '999.000000', externalNumber: '+14155550101', summary: 'Asked about whitening prices.' })
		};
		for (const [k, s] of Object.entries(calls)) ids[k] = s.conversationId;
		await upsertConversationSnapshots({ ctx: ingestCtx, input: { snapshots: Object.values(calls) } });
		await relay();
		// A correction after the first fact reached ClickHouse: retraction + new fact, counted once.
		const midweekDone = { ...calls.midweek, status: 'done', callSuccessful: 'success', durationSecs: 45, observedAt: at('2025-03-12T14:00:00Z') };
		await upsertConversationSnapshots({ ctx: ingestCtx, input: { snapshots: [midweekDone] } });
		await relay();
	});

	it('totals equal what PostgreSQL holds for the range', async () => {
		const s = await a.caller.calls.summary(RANGE);
		const [pg] = await stores.db.db
			.select({
				calls: sql<number>`count(*)::int`,
				durationSecs: sql<number>`coalesce(sum(${conversation.durationSecs}), 0)::int`,
				cost: sql<string>`coalesce(sum(${conversation.cost}), 0)::numeric(18, 6)::text`,
				answered: sql<number>`(count(*) filter (where ${conversation.status} = 'done'))::int`,
				failed: sql<number>`(count(*) filter (where ${conversation.status} = 'failed'))::int`,
				successful: sql<number>`(count(*) filter (where ${conversation.callSuccessful} = 'success'))::int`
			})
			.from(conversation)
			.where(
				and(
					eq(conversation.tenantId, a.t.id),
					isNotNull(conversation.status),
					gte(conversation.startedAt, at('2025-03-07T05:00:00Z')),
					lt(conversation.startedAt, at('2025-03-15T04:00:00Z'))
				)
			);
		expect(pg).toEqual({ calls: 4, durationSecs: 465, cost: '455.500000', answered: 3, failed: 1, successful: 2 });
		expect(s.totals).toEqual({ ...pg, successRate: 0.5 });
		expect(s.range).toEqual({ ...RANGE, days: 8, timezone: 'America/New_York' });
	});

	it('cuts days at the tenant’s local midnight, zero-filled, across the DST change', async () => {
		const s = await a.caller.calls.summary(RANGE);
		expect(s.daily.map((d) => [d.day, d.calls, d.durationSecs])).toEqual([
			['2025-03-07', 0, 0],
			['2025-03-08', 1, 300],
			['2025-03-09', 1, 120],
			['2025-03-10', 1, 0],
			['2025-03-11', 0, 0],
			['2025-03-12', 1, 45],
			['2025-03-13', 0, 0],
			['2025-03-14', 0, 0]
		]);
		expect(s.daily.reduce((n, d) => n + d.calls, 0)).toBe(s.totals.calls);
		// The one day of the call at 02:30 UTC on the 10th is the 9th in New York.
		const ninth = await a.caller.calls.summary({ from: '2025-03-09', to: '2025-03-09' });
		expect(ninth.totals).toMatchObject({ calls: 1, durationSecs: 120, successful: 1 });
		expect(ninth.daily).toEqual([{ day: '2025-03-09', calls: 1, durationSecs: 120, cost: '100.000000' }]);
	});

	it('never shows another tenant’s calls', async () => {
		const sa = await a.caller.calls.summary({ from: '2025-03-09', to: '2025-03-09' });
		expect(sa.totals.cost).toBe('100.000000');
		const sb = await b.caller.calls.summary(RANGE);
		expect(sb.totals).toMatchObject({ calls: 1, durationSecs: 999, cost: '999.000000' });
		const la = await a.caller.calls.list({ ...RANGE, search: '4155550101', page: 1, pageSize: 50 });
		expect(la.rows.map((r) => r.conversationId)).toEqual([ids.lateEvening]);
		const lb = await b.caller.calls.list({ ...RANGE, page: 1, pageSize: 50 });
		expect(lb.rows.map((r) => r.conversationId)).toEqual([ids.otherTenant]);
		expect(JSON.stringify(lb)).not.toContain(a.t.id);
	});

	it('lists the range newest first, in pages that add up', async () => {
		const all = await a.caller.calls.list({ ...RANGE, page: 1, pageSize: 50 });
		expect(all.total).toBe(4);
		expect(all.rows.map((r) => r.conversationId)).toEqual([ids.midweek, ids.afterMidnight, ids.lateEvening, ids.saturday]);
		expect(all.rows[0]).toMatchObject({ status: 'done', durationSecs: 45, direction: 'outbound', agentName: 'Front Desk', callSuccessful: 'success' });
		expect(all.rows[1]).toMatchObject({ agentId: 'agent_night', agentName: 'After Hours', externalNumber: '+12125550199', status: 'failed' });
		const pages = await Promise.all([1, 2, 3].map((page) => a.caller.calls.list({ ...RANGE, page, pageSize: 2 })));
		expect(pages.map((p) => p.rows.length)).toEqual([2, 2, 0]);
		expect(pages.flatMap((p) => p.rows.map((r) => r.conversationId))).toEqual(all.rows.map((r) => r.conversationId));
		expect(pages.every((p) => p.total === 4)).toBe(true);
	});

	it.each([
		['digits of the caller however typed', '(415) 555-0101', ['lateEvening']],
		['part of the number', '+1212', ['afterMidnight']],
		['the agent’s name', 'after hours', ['afterMidnight']],
		['the agent id', 'agent_night', ['afterMidnight']],
		['the summary', 'RESCHEDULE a cleaning', ['saturday']],
		['the title', 'whitening', ['lateEvening']],
		['LIKE wildcards literally', '%', []],
		['nothing that matches', 'zzz-no-such-call', []]
	])('searches by %s', async (_what, search, expected) => {
		const r = await a.caller.calls.list({ ...RANGE, search, page: 1, pageSize: 50 });
		expect(r.rows.map((x) => x.conversationId)).toEqual(expected.map((k) => ids[k]));
		expect(r.total).toBe(expected.length);
	});

	it('filters by status', async () => {
		const r = await a.caller.calls.list({ ...RANGE, status: 'failed', page: 1, pageSize: 50 });
		expect(r.rows.map((x) => x.conversationId)).toEqual([ids.afterMidnight]);
	});

	it('defaults to the last 14 local days', async () => {
		const s = await a.caller.calls.summary();
		const today = todayInZone('America/New_York');
		expect(s.range).toMatchObject({ to: today, days: 14 });
		expect(s.daily).toHaveLength(14);
		expect(s.daily.at(-1)?.day).toBe(today);
		const l = await a.caller.calls.list();
		expect(l.range).toEqual(s.range);
	});

	it.each([
		['a reversed range', { from: '2025-03-14', to: '2025-03-07' }, /after it ends/],
		['more than 366 days', { from: '2024-01-01', to: '2025-01-01' }, /at most 366 days/]
	])('refuses %s with BAD_REQUEST', async (_what, range, message) => {
		for (const call of [() => a.caller.calls.summary(range), () => a.caller.calls.list({ ...range, page: 1, pageSize: 10 })]) {
			const err = await call().catch((e: unknown) => e);
			expect(err).toBeInstanceOf(TRPCError);
			expect((err as TRPCError).code).toBe('BAD_REQUEST');
			expect((err as TRPCError).message).toMatch(message);
		}
	});

	it('accepts exactly 366 days and refuses a date that is not one', async () => {
		const s = await a.caller.calls.summary({ from: '2024-03-15', to: '2025-03-15' });
		expect(s.range.days).toBe(366);
		expect(s.daily).toHaveLength(366);
		expect(s.totals.calls).toBe(5);
		await expect(a.caller.calls.summary({ from: '2025-02-30' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
	});
});
