import { execFileSync } from 'node:child_process';
import { eq, sql } from 'drizzle-orm';
import { afterAll, expect, it } from 'vitest';
import { queryTenantCallTotals } from '../../../src/lib/server/analytics/queries/calls/tenant-call-totals';
import { queryTenantDailyCalls } from '../../../src/lib/server/analytics/queries/calls/tenant-daily-calls';
import { outbox } from '../../../src/lib/server/db/schema/index';
import { postCallTranscriptionEventSchema } from '../../../src/lib/server/elevenlabs/types';
import { checkHealth } from '../../../src/lib/server/health';
import { runOutboxRelayLoop } from '../../../src/lib/server/ingest/loops';
import { snapshotFromTranscriptionEvent } from '../../../src/lib/server/ingest/snapshot';
import { upsertConversationSnapshots } from '../../../src/lib/server/ingest/upsert';
import { createTestConnection, factoryActor, transcriptionEvent, uniqueId } from '../../factories/ingest';
import { createTestTenant } from '../../factories/tenant';
import { eventually } from '../../setup/eventually';
import { connectTestStores } from '../../setup/stores';

// Stops the real ClickHouse server under a running relay loop: rows wait in the outbox, /healthz's outbox
// component shows the lag, and once ClickHouse is back they drain on their own with exact totals.
const stores = connectTestStores();
const storesSh = (cmd: string) => execFileSync('bash', ['scripts/stores.sh', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });
afterAll(async () => {
	storesSh('start-clickhouse');
	await stores.close();
});
const ctx = { db: stores.db.db, actor: factoryActor };

async function addCalls(connectionId: string, agentId: string, n: number, durationSecs: number) {
	const now = Math.floor(Date.now() / 1000);
	const snapshots = Array.from({ length: n }, () =>
		snapshotFromTranscriptionEvent(
			connectionId,
			postCallTranscriptionEventSchema.parse(transcriptionEvent({ conversationId: uniqueId('conv'), agentId, durationSecs, eventTimestamp: now }))
		)
	);
	await upsertConversationSnapshots({ ctx, input: { snapshots } });
}

const pending = async (connectionId: string) =>
	(await stores.db.db.select({ n: sql<number>`count(*)::int` }).from(outbox).where(eq(outbox.connectionId, connectionId)))[0].n;


it('holds rows in the outbox while ClickHouse is down and drains them, exactly, when it returns', { timeout: 180_000 }, async () => {
	const t = await createTestTenant(stores.db.db);
	const conn = await createTestConnection(stores.db.db, { tenantId: t.id });
	const agentId = uniqueId('agent');
	const stop = new AbortController();
	storesSh('stop-clickhouse');
	const loop = runOutboxRelayLoop(
		{ db: stores.db, ch: stores.ch },
		// settleMs is shortened only so an in-doubt batch (a reset socket on restart) does not slow the test.
		{ durationMs: 150_000, batchRows: 500, batchMs: 50, pollMs: 200, settleMs: 3_000, signal: stop.signal }
	);
	try {
		await addCalls(conn.id, agentId, 40, 60);
		await new Promise((r) => setTimeout(r, 2_000));
		await addCalls(conn.id, agentId, 20, 30);
		expect(await pending(conn.id)).toBe(60);
		const health = await checkHealth({ sql: stores.db.sql, ch: stores.ch });
		expect(health.down).toContain('clickhouse');
		expect(health.components.outbox).toMatchObject({ ok: true });
		expect(health.components.outbox.pending as number).toBeGreaterThanOrEqual(60);
		expect(health.components.outbox.oldestPendingSeconds as number).toBeGreaterThanOrEqual(2);

		storesSh('start-clickhouse');
		await eventually(async () => (await pending(conn.id)) === 0, { what: 'the outbox to drain', timeoutMs: 90_000, intervalMs: 250 });
	} finally {
		stop.abort();
		const report = await loop;
		expect(report.ran).toBe(true);
		expect(report.errors).toBeGreaterThan(0);
	}
	expect(await queryTenantCallTotals(stores.ch, { tenantId: t.id })).toMatchObject({ calls: 60, durationSecs: 40 * 60 + 20 * 30 });
	const days = await queryTenantDailyCalls(stores.ch, { tenantId: t.id, timezone: 'UTC', from: new Date(0), to: new Date(Date.now() + 86_400_000) });
	expect(days.reduce((n, d) => n + d.calls, 0)).toBe(60);
	const health = await checkHealth({ sql: stores.db.sql, ch: stores.ch });
	expect(health.components.clickhouse.ok).toBe(true);
});
