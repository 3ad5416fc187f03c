import { createHash } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { conversation, outbox, webhookInbox } from '../../../src/lib/server/db/schema/index';
import { checkHealth } from '../../../src/lib/server/health';
import { InboxWriter } from '../../../src/lib/server/ingest/inbox-writer';
import { runInboxProcessorLoop, type LoopReport } from '../../../src/lib/server/ingest/loops';
import { createTestConnection, settleInbox, transcriptionEvent, uniqueId } from '../../factories/ingest';
import { createTestTenant } from '../../factories/tenant';
import { eventually } from '../../setup/eventually';
import { connectTestStores } from '../../setup/stores';

// A burst of webhook deliveries with the intake first (intake-priority.ts): the processor rests while the burst
// lasts, and every delivery is still applied exactly once. Here, not in the integration tier, because the loop
// needs the processor lease, which a worker started by a parallel integration file would hold.
const stores = connectTestStores();
afterAll(() => stores.close());

/** Writes `total` deliveries through the inbox writer, `perTick` every 20 ms (about 50 × perTick a second). */
async function burst(connectionId: string, agentId: string, total: number, perTick: number): Promise<string[]> {
	const writer = new InboxWriter(stores.db.sql);
	const ids: string[] = [];
	const pending: Promise<unknown>[] = [];
	for (let i = 0; i < total; i++) {
		const conversationId = uniqueId('conv_burst');
		ids.push(conversationId);
		const body = JSON.stringify(transcriptionEvent({ conversationId, agentId, durationSecs: 60 }));
		pending.push(
			writer.write({
				connectionId,
				eventType: 'post_call_transcription',
				conversationId,
				agentId,
				eventTimestamp: Math.floor(Date.now() / 1000),
				dedupKey: createHash('sha256').update(body).digest('hex'),
				body,
				audioKey: null
			})
		);
		if ((i + 1) % perTick === 0) await new Promise((r) => setTimeout(r, 20));
	}
	await Promise.all(pending);
	return ids;
}

/** Runs the processor loop while the burst is written, until every delivery of it is applied. */
async function processDuring(connectionId: string, write: Promise<string[]>, maxLagMs: number): Promise<{ report: LoopReport; ids: string[] }> {
	const stop = new AbortController();
	const loop = runInboxProcessorLoop(
		{ db: stores.db },
		{
			durationMs: 120_000,
			waitForLeaseMs: 60_000,
			signal: stop.signal,
			batchSize: 10,
			parallel: 1,
			intakePriority: { burstRate: 200, share: 0.25, maxLagMs }
		}
	);
	let ids: string[];
	try {
		ids = await write;
		await eventually(
			async () => {
				const [{ n }] = await stores.db.db
					.select({ n: sql<number>`count(*)::int` })
					.from(webhookInbox)
					.where(and(eq(webhookInbox.connectionId, connectionId), eq(webhookInbox.status, 'pending')));
				return n === 0;
			},
			{ what: 'the processor to apply the burst', timeoutMs: 90_000 }
		);
	} finally {
		stop.abort();
	}
	return { report: await loop, ids };
}

async function expectAppliedOnce(ids: string[]) {
	const rows = await stores.db.db
		.select({ id: conversation.conversationId, version: conversation.version, status: conversation.status })
		.from(conversation)
		.where(inArray(conversation.conversationId, ids));
	expect(rows).toHaveLength(ids.length);
	expect(new Set(rows.map((r) => r.id)).size).toBe(ids.length);
	expect(rows.every((r) => r.version === 1 && r.status === 'done')).toBe(true);
}

describe('a burst of webhook deliveries (intake first)', () => {
	it('makes the inbox processor rest while it lasts, and still applies every delivery exactly once', { timeout: 240_000 }, async () => {
		const t = await createTestTenant(stores.db.db);
		const conn = await createTestConnection(stores.db.db, { tenantId: t.id });
		// About 3,000 deliveries a second for a second, fifteen times the burst rate and more than 10-row batches keep up with.
		const { report, ids } = await processDuring(conn.id, burst(conn.id, uniqueId('agent'), 3000, 60), 60_000);
		expect(report.ran).toBe(true);
		expect(report.restedMs).toBeGreaterThan(0);
		await expectAppliedOnce(ids);
		// Each call's fact is queued for ClickHouse once (the relay may already have sent some: not here, no relay runs).
		const [{ n }] = await stores.db.db
			.select({ n: sql<number>`count(*)::int` })
			.from(outbox)
			.where(eq(outbox.connectionId, conn.id));
		expect(n).toBe(ids.length);
	});

	it('shows the backlog it defers on /healthz (as information: the service is up)', async () => {
		const t = await createTestTenant(stores.db.db);
		const conn = await createTestConnection(stores.db.db, { tenantId: t.id });
		await burst(conn.id, uniqueId('agent'), 50, 50);
		const health = await checkHealth({ sql: stores.db.sql, ch: stores.ch });
		expect(health.components.inbox).toMatchObject({ ok: true });
		expect(health.components.inbox.pending).toBeGreaterThanOrEqual(50);
		expect(health.components.inbox.oldestPendingSeconds).toBeGreaterThanOrEqual(0);
		expect(health.down).not.toContain('inbox');
		await settleInbox(stores.db, conn.id);
	});

	it('does not rest once the oldest pending delivery is older than the lag limit', { timeout: 240_000 }, async () => {
		const t = await createTestTenant(stores.db.db);
		const conn = await createTestConnection(stores.db.db, { tenantId: t.id });
		const { report, ids } = await processDuring(conn.id, burst(conn.id, uniqueId('agent'), 3000, 60), 0);
		expect(report.ran).toBe(true);
		expect(report.restedMs).toBe(0);
		await expectAppliedOnce(ids);
	});
});
