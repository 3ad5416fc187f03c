import { eq, sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { startElevenLabsEmulator } from '../../src/emulators/elevenlabs/server';
import { conversation } from '../../src/lib/server/db/schema/index';
import { createElevenLabsClient } from '../../src/lib/server/elevenlabs/client';
import { snapshotFromConversationDetail } from '../../src/lib/server/ingest/snapshot';
import { upsertConversationSnapshots } from '../../src/lib/server/ingest/upsert';
import { userActor } from '../../src/lib/server/services/context';
import { reconcileTenantMonth } from '../../src/lib/server/services/finance/reconcile';
import { createTestConnection, uniqueId } from '../factories/ingest';
import { createTestTenant } from '../factories/tenant';
import { createTestUser } from '../factories/users';
import { connectTestStores } from '../setup/stores';

// Reconciliation against the ElevenLabs emulator: a month stored exactly as upstream lists it has no findings; every
// difference (a call never stored, one stored that upstream does not list, other seconds, other credits) is one
// finding naming its conversation, and nothing stored is changed by looking.
const stores = connectTestStores();
afterAll(() => stores.close());
const db = stores.db.db;

describe('reconciliation with upstream', () => {
	it('finds every difference between stored seconds and credits and what upstream lists, and fixes none', { timeout: 60_000 }, async () => {
		const admin = await createTestUser(db, { label: 'reconcile', isPlatformAdmin: true });
		const ctx = { db, actor: userActor(admin) };
		const t = await createTestTenant(db, { timezone: 'UTC' });
		const agentId = uniqueId('agent');
		const apiKey = `sk_${uniqueId('k')}`;
		const emulator = await startElevenLabsEmulator({ seed: Math.floor(Math.random() * 2 ** 31), apiKey, agents: [{ agentId, name: 'Front' }] });
		try {
			const conn = await createTestConnection(db, { tenantId: t.id, baseUrl: emulator.url, apiKey });
			// Twelve final calls on 2025-01-10, one a minute.
			const calls = emulator.control.generateCalls(12, { finalImmediately: true, startTimeUnix: Date.UTC(2025, 0, 10, 12) / 1000 });
			const client = createElevenLabsClient({ baseUrl: emulator.url, apiKey });
			const details = await Promise.all(calls.map(async (c) => (await client.getConversation(c.conversation_id)).conversation));
			await client.close();
			await upsertConversationSnapshots({ ctx: { db }, input: { snapshots: details.map((d) => snapshotFromConversationDetail(conn.id, d, { source: 'poll', observedAt: new Date() })) } });

			const clean = await reconcileTenantMonth({ ctx, input: { tenantId: t.id, period: '2025-01' } });
			expect(clean.errors).toEqual([]);
			expect(clean.findings).toEqual([]);
			expect(clean.upstream).toEqual(clean.stored);
			expect(clean.stored.calls).toBe(details.filter((d) => d.status === 'done' || d.status === 'failed').length);

			// Tamper with what is stored: one call lost, one with other seconds, one with other credits, one extra.
			const [lost, longer, pricier] = details.filter((d) => d.status === 'done').map((d) => d.conversation_id);
			await db.delete(conversation).where(eq(conversation.conversationId, lost));
			await db.update(conversation).set({ durationSecs: sql`${conversation.durationSecs} + 7` }).where(eq(conversation.conversationId, longer));
			await db.update(conversation).set({ cost: sql`${conversation.cost} + 0.5` }).where(eq(conversation.conversationId, pricier));
			const extra = uniqueId('conv_not_upstream');
			await upsertConversationSnapshots({
				ctx: { db },
				input: { snapshots: [{ connectionId: conn.id, conversationId: extra, agentId, source: 'poll', observedAt: new Date(), status: 'done', startedAt: new Date('2025-01-20T10:00:00Z'), durationSecs: 30, cost: '12.000000' }] }
			});
			const before = await db.select().from(conversation).where(eq(conversation.tenantId, t.id));

			const report = await reconcileTenantMonth({ ctx, input: { tenantId: t.id, period: '2025-01' } });
			expect(report.findings.map((f) => [f.kind, f.conversationId])).toEqual(
				[
					['credits_differ', pricier],
					['missing_in_store', lost],
					['missing_upstream', extra],
					['seconds_differ', longer]
				].sort((a, b) => a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]))
			);
			const sec = report.findings.find((f) => f.kind === 'seconds_differ')!;
			expect(sec.stored!.secs - sec.upstream!.secs).toBe(7);
			// A finding, never a silent fix.
			expect(await db.select().from(conversation).where(eq(conversation.tenantId, t.id))).toEqual(before);

			// Upstream unreachable: a finding of its own, no verdict on its calls.
			await emulator.close();
			const down = await reconcileTenantMonth({ ctx, input: { tenantId: t.id, period: '2025-01' } });
			expect(down.errors).toEqual([expect.objectContaining({ connectionId: conn.id })]);
			expect(down.findings).toEqual([]);
		} finally {
			await emulator.close().catch(() => undefined);
		}
	});
});
