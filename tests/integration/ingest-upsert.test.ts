import { eq, sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { conversation, elevenlabsAgent, outbox } from '../../src/lib/server/db/schema/index';
import { factEventId, retractionEventId } from '../../src/lib/server/ingest/facts';
import { mapAgent } from '../../src/lib/server/services/agents/index';
import { listQuarantine } from '../../src/lib/server/services/quarantine/index';
import { releaseQuarantinedBatch } from '../../src/lib/server/services/quarantine/index';
import { POST } from '../../src/routes/api/webhooks/elevenlabs/[connection]/+server';
import { createTestConnection, factoryActor, settleInbox, signedWebhookEvent, transcriptionEvent, uniqueId } from '../factories/ingest';
import { createTestTenant } from '../factories/tenant';
import { connectTestStores } from '../setup/stores';

// Webhooks in, through the route and the processor, out as conversation rows and outbox events.
const stores = connectTestStores();
afterAll(() => stores.close());
const ctx = { db: stores.db.db, actor: factoryActor };

async function deliver(conn: { id: string; webhookSecret: string }, event: object) {
	const res = await POST(signedWebhookEvent(conn.id, JSON.stringify(event), { secret: conn.webhookSecret }) as unknown as Parameters<typeof POST>[0]);
	expect(res.status).toBe(200);
}
const row = async (conversationId: string) => (await stores.db.db.select().from(conversation).where(eq(conversation.conversationId, conversationId)))[0];
const events = async (conversationId: string) =>
	(await stores.db.db.select().from(outbox).where(sql`${outbox.payload}->>'conversation_id' = ${conversationId}`).orderBy(outbox.id)).map((o) => ({
		eventId: o.eventId,
		sign: (o.payload as { sign: number }).sign,
		status: (o.payload as { status: string }).status
	}));

describe('conversation upsert from webhooks', () => {
	it('stores every field as delivered (times, numbers, phone data, the raw details), minus U+0000', async () => {
		const t = await createTestTenant(stores.db.db);
		const conn = await createTestConnection(stores.db.db, { tenantId: t.id });
		const conversationId = uniqueId('conv');
		const agentId = uniqueId('agent');
		const event = transcriptionEvent({ conversationId, agentId, startUnix: 1_780_000_000, durationSecs: 187, cost: 412.5, direction: 'outbound' });
		const data = event.data as Record<string, unknown> & { transcript: { message: string }[]; analysis: Record<string, unknown> };
		// Upstream text may carry U+0000, which PostgreSQL text and jsonb cannot hold: it is dropped, nothing else.
		data.transcript[1].message = 'book\u0000 me in';
		data.analysis = { ...data.analysis, transcript_summary: 'Booked \u0000a cleaning.', call_summary_title: 'Cleaning "quoted" \\ title' };
		await deliver(conn, event);
		await settleInbox(stores.db, conn.id);
		const r = await row(conversationId);
		expect(r).toMatchObject({
			tenantId: t.id,
			status: 'done',
			startedAt: new Date(1_780_000_000 * 1000),
			durationSecs: 187,
			cost: 412.5,
			direction: 'outbound',
			agentNumber: '+14155550100',
			externalNumber: '+14155550199',
			callSid: `CA${conversationId}`,
			summary: 'Booked a cleaning.',
			title: 'Cleaning "quoted" \\ title',
			version: 1,
			source: 'webhook',
			quarantinedAt: null
		});
		const details = r.details as { transcript: { message: string }[]; metadata: { phone_call: { stream_sid: string } } };
		expect(details.transcript.map((m) => m.message)).toEqual(['Hello, how can I help?', 'book me in']);
		// Tolerant parsing keeps fields we do not model.
		expect(details.metadata.phone_call.stream_sid).toBe('MZ1');
		expect(r.emittedVersion).toBe(1);
	});

	it('keeps one row per conversation; a late "processing" never overwrites "done"', async () => {
		const t = await createTestTenant(stores.db.db);
		const conn = await createTestConnection(stores.db.db, { tenantId: t.id });
		const conversationId = uniqueId('conv');
		const agentId = uniqueId('agent');
		const now = Math.floor(Date.now() / 1000);
		await deliver(conn, transcriptionEvent({ conversationId, agentId, status: 'done', eventTimestamp: now, durationSecs: 200 }));
		await settleInbox(stores.db, conn.id);
		// Delivered later, but describing an earlier moment of the call.
		await deliver(conn, transcriptionEvent({ conversationId, agentId, status: 'processing', eventTimestamp: now + 5, durationSecs: 150 }));
		await settleInbox(stores.db, conn.id);
		const r = await row(conversationId);
		expect(r).toMatchObject({ status: 'done', durationSecs: 200, version: 1, tenantId: t.id, callSuccessful: 'success' });
		expect(await events(conversationId)).toEqual([{ eventId: factEventId(conversationId, 1), sign: 1, status: 'done' }]);
	});

	it('counts versions and retracts the previous fact on each change, in order or not', async () => {
		const t = await createTestTenant(stores.db.db);
		const conn = await createTestConnection(stores.db.db, { tenantId: t.id });
		const conversationId = uniqueId('conv');
		const agentId = uniqueId('agent');
		const now = Math.floor(Date.now() / 1000);
		await deliver(conn, transcriptionEvent({ conversationId, agentId, status: 'processing', eventTimestamp: now, durationSecs: 100 }));
		await settleInbox(stores.db, conn.id);
		expect((await row(conversationId)).version).toBe(1);
		await deliver(conn, transcriptionEvent({ conversationId, agentId, status: 'done', eventTimestamp: now + 1, durationSecs: 130, callSuccessful: 'failure' }));
		await settleInbox(stores.db, conn.id);
		// A re-analysed final snapshot (same rank, newer) is a change too.
		await deliver(conn, transcriptionEvent({ conversationId, agentId, status: 'done', eventTimestamp: now + 2, durationSecs: 130, callSuccessful: 'success' }));
		await settleInbox(stores.db, conn.id);
		// ...an older final snapshot is not.
		await deliver(conn, transcriptionEvent({ conversationId, agentId, status: 'done', eventTimestamp: now + 1, durationSecs: 999, callSuccessful: 'failure' }));
		await settleInbox(stores.db, conn.id);
		const r = await row(conversationId);
		expect(r).toMatchObject({ status: 'done', version: 3, durationSecs: 130, callSuccessful: 'success', emittedVersion: 3 });
		const ev = await events(conversationId);
		expect(ev.map((e) => e.eventId).sort()).toEqual(
			[factEventId(conversationId, 1), retractionEventId(conversationId, 1), factEventId(conversationId, 2), retractionEventId(conversationId, 2), factEventId(conversationId, 3)].sort()
		);
		expect(ev.reduce((s, e) => s + e.sign, 0)).toBe(1);
	});

	it('applies a batch holding several snapshots of one conversation in any order to the same result', async () => {
		const t = await createTestTenant(stores.db.db);
		const conn = await createTestConnection(stores.db.db, { tenantId: t.id });
		const agentId = uniqueId('agent');
		const now = Math.floor(Date.now() / 1000);
		const ids = [uniqueId('conv'), uniqueId('conv')];
		const order = [
			['done', now + 2],
			['in-progress', now],
			['processing', now + 1]
		] as const;
		for (const [i, conversationId] of ids.entries()) {
			const seq = i === 0 ? order : [...order].reverse();
			for (const [status, ts] of seq) await deliver(conn, transcriptionEvent({ conversationId, agentId, status, eventTimestamp: ts, durationSecs: 60 }));
		}
		await settleInbox(stores.db, conn.id);
		for (const conversationId of ids) expect(await row(conversationId)).toMatchObject({ status: 'done', statusRank: 3 });
	});

	it('quarantines calls of an unmapped agent and releases them, counted, once the agent is mapped', async () => {
		const t = await createTestTenant(stores.db.db);
		const conn = await createTestConnection(stores.db.db); // platform-level: no tenant to fall back on
		const agentId = uniqueId('agent');
		const ids = [uniqueId('conv'), uniqueId('conv'), uniqueId('conv')];
		for (const conversationId of ids) await deliver(conn, transcriptionEvent({ conversationId, agentId }));
		await settleInbox(stores.db, conn.id);
		for (const conversationId of ids) {
			const r = await row(conversationId);
			expect(r.tenantId).toBeNull();
			expect(r.quarantinedAt).toBeInstanceOf(Date);
			expect(await events(conversationId)).toEqual([]);
		}
		const q = await listQuarantine({ ctx, input: { connectionId: conn.id } });
		expect(q.groups).toEqual([expect.objectContaining({ connectionId: conn.id, agentId, conversations: 3 })]);
		const [agent] = await stores.db.db.select().from(elevenlabsAgent).where(eq(elevenlabsAgent.agentId, agentId));
		expect(agent.tenantId).toBeNull();

		const mapped = await mapAgent({ ctx, input: { connectionId: conn.id, agentId, tenantId: t.id } });
		expect(mapped.awaitingRelease).toBe(3);
		// The worker's loop does this on the NOTIFY mapAgent sends; here we call the same verb.
		expect((await releaseQuarantinedBatch({ ctx, input: {} })).released).toBeGreaterThanOrEqual(3);
		for (const conversationId of ids) {
			const r = await row(conversationId);
			expect(r).toMatchObject({ tenantId: t.id, quarantinedAt: null, version: 2 });
			expect(await events(conversationId)).toEqual([{ eventId: factEventId(conversationId, 2), sign: 1, status: 'done' }]);
		}
		// Later calls of the agent go straight to the tenant.
		const later = uniqueId('conv');
		await deliver(conn, transcriptionEvent({ conversationId: later, agentId }));
		await settleInbox(stores.db, conn.id);
		expect(await row(later)).toMatchObject({ tenantId: t.id, version: 1 });
		expect((await listQuarantine({ ctx, input: { connectionId: conn.id } })).groups).toEqual([]);
	});

	it('records call initiation failures and attaches audio delivered before the transcript', async () => {
		const t = await createTestTenant(stores.db.db);
		const conn = await createTestConnection(stores.db.db, { tenantId: t.id });
		const agentId = uniqueId('agent');
		const failedId = uniqueId('conv');
		const now = Math.floor(Date.now() / 1000);
		await deliver(conn, { type: 'call_initiation_failure', event_timestamp: now, data: { agent_id: agentId, conversation_id: failedId, failure_reason: 'busy', metadata: { type: 'twilio', body: {} } } });
		const audioFirst = uniqueId('conv');
		await deliver(conn, { type: 'post_call_audio', event_timestamp: now, data: { agent_id: agentId, conversation_id: audioFirst, full_audio: Buffer.from('ID3 fake mp3').toString('base64') } });
		await deliver(conn, { type: 'some_future_event', event_timestamp: now, data: { conversation_id: 'x' } });
		await settleInbox(stores.db, conn.id);
		expect(await row(failedId)).toMatchObject({ status: 'failed', failureReason: 'busy', durationSecs: 0, tenantId: t.id });
		const stub = await row(audioFirst);
		expect(stub).toMatchObject({ status: null, hasAudio: true });
		expect(await events(audioFirst)).toEqual([]);
		await deliver(conn, transcriptionEvent({ conversationId: audioFirst, agentId }));
		await settleInbox(stores.db, conn.id);
		expect(await row(audioFirst)).toMatchObject({ status: 'done', hasAudio: true, audioKey: stub.audioKey, version: 2 });
		expect(await events(audioFirst)).toEqual([{ eventId: factEventId(audioFirst, 2), sign: 1, status: 'done' }]);
	});
});
