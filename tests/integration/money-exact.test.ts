import { eq, sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { queryTenantCallRollupTotals } from '../../src/lib/server/analytics/queries/calls/tenant-call-rollup-totals';
import { queryTenantCallTotals } from '../../src/lib/server/analytics/queries/calls/tenant-call-totals';
import { conversation, outbox } from '../../src/lib/server/db/schema/index';
import { postCallTranscriptionEventSchema } from '../../src/lib/server/elevenlabs/types';
import { insertOutboxRowsIntoClickHouse, markOutboxSent } from '../../src/lib/server/ingest/relay';
import type { CallEventRow } from '../../src/lib/server/analytics/tables';
import { snapshotFromTranscriptionEvent } from '../../src/lib/server/ingest/snapshot';
import { upsertConversationSnapshots } from '../../src/lib/server/ingest/upsert';
import { createTestConnection, factoryActor, transcriptionEvent, uniqueId } from '../factories/ingest';
import { createTestTenant } from '../factories/tenant';
import { connectTestStores } from '../setup/stores';

// Credits are exact decimals from the webhook's JSON to PostgreSQL numeric and ClickHouse Decimal(18, 6): sums that
// a float gets wrong (0.1 + 0.2, eighteen significant digits) come out exact in both stores and in the rollup.
const stores = connectTestStores();
afterAll(() => stores.close());
const ctx = { db: stores.db.db, actor: factoryActor };

/** The relay's own insert step (analytics/json-each-row encoding) for this connection's rows only, so other files' outbox rows are left alone. */
async function relayConnection(connectionId: string) {
	const rows = await stores.db.db.select().from(outbox).where(eq(outbox.connectionId, connectionId)).orderBy(outbox.id);
	await insertOutboxRowsIntoClickHouse(stores.ch, rows.map((r) => ({ id: r.id, eventId: r.eventId, target: r.target, payload: r.payload as CallEventRow, attempts: r.attempts, attemptedAt: r.attemptedAt })));
	await markOutboxSent(stores.db.db, rows.map((r) => r.id));
}

describe('money is exact in both stores', () => {
	it('keeps credits exact from the webhook to PostgreSQL, call_events and the rollup, through a correction', async () => {
		const t = await createTestTenant(stores.db.db);
		const conn = await createTestConnection(stores.db.db, { tenantId: t.id });
		const agentId = uniqueId('agent');
		const start = Math.floor(Date.now() / 1000) - 3600;
		const costs = [0.1, 0.2, 0.7, 123456789012.12346];
		const events = costs.map((cost, i) =>
			postCallTranscriptionEventSchema.parse(transcriptionEvent({ conversationId: uniqueId('conv'), agentId, startUnix: start + i, eventTimestamp: start + 100, cost }))
		);
		await upsertConversationSnapshots({ ctx, input: { snapshots: events.map((e) => snapshotFromTranscriptionEvent(conn.id, e)) } });
		const [{ total }] = await stores.db.db
			.select({ total: sql<string>`sum(${conversation.cost})::text` })
			.from(conversation)
			.where(eq(conversation.tenantId, t.id));
		// As a float sum this is 123456789013.12346 (the last digits gone); the decimal one is exact.
		expect(total).toBe('123456789013.123460');
		await relayConnection(conn.id);
		expect((await queryTenantCallTotals(stores.ch, { tenantId: t.id })).cost).toBe('123456789013.123460');
		expect((await queryTenantCallRollupTotals(stores.ch, { tenantId: t.id })).cost).toBe('123456789013.123460');

		// A correction (a later snapshot with another cost) retracts the old fact exactly.
		const corrected = { ...events[0], event_timestamp: start + 200, data: { ...events[0].data, metadata: { ...events[0].data.metadata, cost: 0.3 } } };
		await upsertConversationSnapshots({ ctx, input: { snapshots: [snapshotFromTranscriptionEvent(conn.id, corrected)] } });
		await relayConnection(conn.id);
		expect((await queryTenantCallTotals(stores.ch, { tenantId: t.id })).cost).toBe('123456789013.323460');
		expect((await queryTenantCallRollupTotals(stores.ch, { tenantId: t.id })).cost).toBe('123456789013.323460');
	});

	it('an identical re-delivery stays unchanged (the stored numeric text equals the snapshot text)', async () => {
		const t = await createTestTenant(stores.db.db);
		const conn = await createTestConnection(stores.db.db, { tenantId: t.id });
		const e = postCallTranscriptionEventSchema.parse(transcriptionEvent({ conversationId: uniqueId('conv'), agentId: uniqueId('agent'), cost: 412.5 }));
		await upsertConversationSnapshots({ ctx, input: { snapshots: [snapshotFromTranscriptionEvent(conn.id, e)] } });
		const again = await upsertConversationSnapshots({ ctx, input: { snapshots: [snapshotFromTranscriptionEvent(conn.id, e)] } });
		expect(again).toMatchObject({ unchanged: 1, updated: 0, events: 0 });
	});
});
