import { eq, sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { queryTenantCallRollupTotals } from '../../src/lib/server/analytics/queries/calls/tenant-call-rollup-totals';
import { queryTenantCallTotals } from '../../src/lib/server/analytics/queries/calls/tenant-call-totals';
import { queryTenantDailyCalls } from '../../src/lib/server/analytics/queries/calls/tenant-daily-calls';
import { outbox } from '../../src/lib/server/db/schema/index';
import { snapshotFromTranscriptionEvent, type ConversationSnapshot } from '../../src/lib/server/ingest/snapshot';
import { drainOutboxToClickHouse, withRelayLease } from '../../src/lib/server/ingest/loops';
import { claimOutboxBatch, insertOutboxRowsIntoClickHouse, markOutboxAttempted, relayOutboxBatchToClickHouse } from '../../src/lib/server/ingest/relay';
import { upsertConversationSnapshots } from '../../src/lib/server/ingest/upsert';
import { postCallTranscriptionEventSchema } from '../../src/lib/server/elevenlabs/types';
import { createTestConnection, factoryActor, transcriptionEvent, uniqueId } from '../factories/ingest';
import { createTestTenant } from '../factories/tenant';
import { connectTestStores } from '../setup/stores';
import { testEnv } from '../setup/test-env';
import { z } from 'zod';
import { queryRows } from '../../src/lib/server/analytics/client';
import { sql as chSql } from '../../src/lib/server/analytics/literal';
import { createDb } from '../../src/lib/server/db/client';
import { LOCK_IDS, LeaseLostError } from '../../src/lib/server/db/locks';

// Outbox → ClickHouse against the real server: drains, survives a relay that dies between INSERT and mark,
// and keeps every total exact through corrections (retraction + fact).
const stores = connectTestStores();
afterAll(() => stores.close());
const ctx = { db: stores.db.db, actor: factoryActor };
const relayDeps = { db: stores.db, ch: stores.ch };
const day = (unix: number) => new Date(unix * 1000);

/** Writes calls for a fresh tenant straight through the upsert verb; returns what ClickHouse must end up with. */
async function seedCalls(n: number, opts: { startUnix?: number; timezone?: string } = {}) {
	const t = await createTestTenant(stores.db.db, opts.timezone ? { timezone: opts.timezone } : {});
	const conn = await createTestConnection(stores.db.db, { tenantId: t.id });
	const agentId = uniqueId('agent');
	const start = opts.startUnix ?? Math.floor(Date.now() / 1000) - 3600;
	const now = Math.floor(Date.now() / 1000);
	const snapshots: ConversationSnapshot[] = [];
	let seconds = 0;
	for (let i = 0; i < n; i++) {
		const conversationId = uniqueId('conv');
		// Every call is first seen mid-way, then final with a different duration: one correction each.
		for (const [status, duration, ts] of [['processing', 10 + i, now], ['done', 20 + i, now + 1]] as const) {
			const ev = postCallTranscriptionEventSchema.parse(transcriptionEvent({ conversationId, agentId, status, durationSecs: duration, startUnix: start + i, eventTimestamp: ts, cost: 100 }));
			snapshots.push(snapshotFromTranscriptionEvent(conn.id, ev));
		}
		seconds += 20 + i;
	}
	// Two batches so the processing fact is relayed before its retraction exists, as in real life.
	await upsertConversationSnapshots({ ctx, input: { snapshots: snapshots.filter((_, i) => i % 2 === 0) } });
	const firstWave = await stores.db.db.select({ id: outbox.id }).from(outbox).where(eq(outbox.connectionId, conn.id));
	return {
		t,
		conn,
		expected: { calls: n, durationSecs: seconds, cost: `${100 * n}.000000`, done: n },
		firstWave: firstWave.length,
		finish: () => upsertConversationSnapshots({ ctx, input: { snapshots: snapshots.filter((_, i) => i % 2 === 1) } })
	};
}

const pending = async (connectionId: string) =>
	(await stores.db.db.select({ n: sql<number>`count(*)::int` }).from(outbox).where(eq(outbox.connectionId, connectionId)))[0].n;

async function rollupTotal(tenantId: string, timezone = 'UTC') {
	const days = await queryTenantDailyCalls(stores.ch, { tenantId, timezone, from: day(0), to: new Date(Date.now() + 86_400_000) });
	return days.reduce((a, d) => ({ calls: a.calls + d.calls, durationSecs: a.durationSecs + d.durationSecs }), { calls: 0, durationSecs: 0 });
}

describe('outbox relay to ClickHouse', () => {
	it('drains every row and lands exact totals, corrections included', async () => {
		const s = await seedCalls(25);
		expect(s.firstWave).toBe(25);
		await drainOutboxToClickHouse(relayDeps);
		await s.finish();
		expect(await pending(s.conn.id)).toBe(50); // 25 retractions + 25 final facts
		await drainOutboxToClickHouse(relayDeps);
		expect(await pending(s.conn.id)).toBe(0);
		expect(await queryTenantCallTotals(stores.ch, { tenantId: s.t.id })).toMatchObject({ ...s.expected, failed: 0 });
		expect(await rollupTotal(s.t.id)).toEqual({ calls: s.expected.calls, durationSecs: s.expected.durationSecs });
		// The dashboard's totals (the rollup) are the FINAL reference's, every figure.
		expect(await queryTenantCallRollupTotals(stores.ch, { tenantId: s.t.id })).toEqual(await queryTenantCallTotals(stores.ch, { tenantId: s.t.id }));
	});

	it('does not double count when a relay dies between the ClickHouse INSERT and the mark', async () => {
		const s = await seedCalls(30);
		await s.finish();
		await withRelayLease(stores.db, async () => {
			// The dying relay: claims, leaves its trace, inserts... and never marks.
			const batch = await claimOutboxBatch(stores.db.db, { limit: 100_000 });
			const mine = batch.filter((r) => r.payload.tenant_id === s.t.id);
			expect(mine.length).toBe(90); // per call: the processing fact, its retraction, the final fact
			await markOutboxAttempted(stores.db.db, batch.map((r) => r.id));
			await insertOutboxRowsIntoClickHouse(stores.ch, batch);
		});
		expect(await pending(s.conn.id)).toBe(90);
		// The next relay (settle time 0: the dead one's INSERT has certainly finished) finds them delivered.
		const r = await drainOutboxToClickHouse(relayDeps, { settleMs: 0 });
		expect(r.alreadyPresent).toBeGreaterThanOrEqual(90);
		expect(await pending(s.conn.id)).toBe(0);
		expect(await queryTenantCallTotals(stores.ch, { tenantId: s.t.id })).toMatchObject(s.expected);
		// The rollup, fed per INSERT, is exact too: nothing was inserted twice.
		expect(await rollupTotal(s.t.id)).toEqual({ calls: s.expected.calls, durationSecs: s.expected.durationSecs });
		expect(await queryTenantCallRollupTotals(stores.ch, { tenantId: s.t.id })).toEqual(await queryTenantCallTotals(stores.ch, { tenantId: s.t.id }));
	});

	it('leaves a settling in-doubt batch alone, then re-sends only what never arrived', async () => {
		const s = await seedCalls(10);
		await s.finish();
		await withRelayLease(stores.db, async () => {
			const batch = (await claimOutboxBatch(stores.db.db, { limit: 100_000 })).filter((r) => r.payload.tenant_id === s.t.id);
			// Attempted, but the INSERT never happened (say the process died right after the mark).
			await markOutboxAttempted(stores.db.db, batch.map((r) => r.id));
			const settling = await relayOutboxBatchToClickHouse({ ctx: { db: stores.db.db, ch: stores.ch }, input: { limit: 100_000, settleMs: 60_000 } });
			expect(settling.alreadyPresent).toBe(0);
		});
		expect(await pending(s.conn.id)).toBe(30);
		const r = await drainOutboxToClickHouse(relayDeps, { settleMs: 0 });
		expect(r.inserted).toBeGreaterThanOrEqual(30);
		expect(await queryTenantCallTotals(stores.ch, { tenantId: s.t.id })).toMatchObject(s.expected);
	});

	it('keeps FINAL totals exact even if a batch is inserted twice (deterministic ids, ReplacingMergeTree)', async () => {
		const s = await seedCalls(12);
		await s.finish();
		await withRelayLease(stores.db, async () => {
			const batch = (await claimOutboxBatch(stores.db.db, { limit: 100_000 })).filter((r) => r.payload.tenant_id === s.t.id);
			await insertOutboxRowsIntoClickHouse(stores.ch, batch);
			await insertOutboxRowsIntoClickHouse(stores.ch, batch);
		});
		expect(await queryTenantCallTotals(stores.ch, { tenantId: s.t.id })).toMatchObject(s.expected);
		await drainOutboxToClickHouse(relayDeps, { settleMs: 0 });
	});

	it('cuts days at the tenant\'s local midnight', async () => {
		// 2026-03-10 03:30 UTC is still March 9th in New York.
		const s = await seedCalls(2, { startUnix: Date.UTC(2026, 2, 10, 3, 30) / 1000, timezone: 'America/New_York' });
		await s.finish();
		await drainOutboxToClickHouse(relayDeps);
		const ny = await queryTenantDailyCalls(stores.ch, { tenantId: s.t.id, timezone: 'America/New_York', from: day(0), to: new Date(Date.now() + 86_400_000) });
		expect(ny.map((d) => [d.day, d.calls])).toEqual([['2026-03-09', 2]]);
		const utc = await queryTenantDailyCalls(stores.ch, { tenantId: s.t.id, timezone: 'UTC', from: day(0), to: new Date(Date.now() + 86_400_000) });
		expect(utc.map((d) => [d.day, d.calls])).toEqual([['2026-03-10', 2]]);
	});

	it('a relay whose lease was taken over sends nothing, and the new holder sends every row once', async () => {
		const b = createDb(testEnv().DATABASE_URL, { max: 3, applicationName: 'relay-b' });
		let s!: Awaited<ReturnType<typeof seedCalls>>;
		try {
			let outcome = '';
			await withRelayLease(stores.db, async (leaseA) => {
				// Seeded under A's lease, so no other relay (another test file's worker) sends these rows meanwhile.
				s = await seedCalls(20);
				await s.finish();
				expect(await pending(s.conn.id)).toBe(60); // 20 first facts, 20 retractions, 20 final facts
				// A's lock connection dies, as in a PostgreSQL restart; B takes the lease over (or first a worker of
				// another test file, which then relays what it finds: B's epoch is larger still).
				// A then tries its next batch: it must send nothing, whatever is pending.
				const [{ pid }] = await stores.db.sql<{ pid: number }[]>`
					select pid from pg_locks where locktype = 'advisory' and granted and classid = 0 and objid = ${LOCK_IDS.relay} and objsubid = 1`;
				await stores.db.sql`select pg_terminate_backend(${pid})`;
				await withRelayLease(b, async (leaseB) => {
					expect(leaseB.epoch).toBeGreaterThan(leaseA.epoch);
					outcome = await relayOutboxBatchToClickHouse({ ctx: { db: stores.db.db, ch: stores.ch, lease: leaseA }, input: { limit: 5000 } }).then(
						(r) => `sent ${r.inserted}`,
						(err) => (err instanceof LeaseLostError ? 'lost' : String(err))
					);
					for (let r = 1; r > 0; ) r = (await relayOutboxBatchToClickHouse({ ctx: { db: b.db, ch: stores.ch, lease: leaseB }, input: { limit: 5000 } })).claimed;
				});
			});
			expect(outcome).toBe('lost');
		} finally {
			await b.close();
		}
		expect(await pending(s.conn.id)).toBe(0);
		// Each event stored once (no FINAL), and the totals exact.
		const twice = await queryRows(
			stores.ch,
			chSql`SELECT event_id, count() AS n FROM call_events WHERE tenant_id = toUUID(${s.t.id}) GROUP BY event_id HAVING n > 1`,
			z.object({ event_id: z.string(), n: z.coerce.number() })
		);
		expect(twice).toEqual([]);
		expect(await queryTenantCallTotals(stores.ch, { tenantId: s.t.id })).toMatchObject(s.expected);
		expect(await rollupTotal(s.t.id)).toEqual({ calls: s.expected.calls, durationSecs: s.expected.durationSecs });
	});
});
