import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryTenantCallTotals } from '../../src/lib/server/analytics/queries/calls/tenant-call-totals';
import { drainOutboxToClickHouse } from '../../src/lib/server/ingest/loops';
import { mapAgent } from '../../src/lib/server/services/agents/index';
import { listQuarantine, releaseQuarantine } from '../../src/lib/server/services/quarantine/index';
import { startWebhookRouteServer } from '../factories/webhook-server';
import { startElevenLabsEmulator, type ElevenLabsEmulator } from '../../src/emulators/elevenlabs/server';
import { createTestConnection, factoryActor, settleInbox, uniqueId } from '../factories/ingest';
import { createTestTenant } from '../factories/tenant';
import { connectTestStores } from '../setup/stores';

// The emulator delivers real signed webhooks, with duplicates and reordering switched on, through a tiny HTTP
// server into the SvelteKit route; ClickHouse must end up with exactly the emulator's calls.
const stores = connectTestStores();
const ctx = { db: stores.db.db, actor: factoryActor };
let server: Awaited<ReturnType<typeof startWebhookRouteServer>>;
let url: string;
let emulator: ElevenLabsEmulator | undefined;

beforeAll(async () => {
	// Emulator deliveries go through the real SvelteKit route.
	server = await startWebhookRouteServer();
	url = server.url;
});
afterAll(async () => {
	await emulator?.close();
	await server?.close();
	await stores.close();
});

describe('emulator → webhook route → inbox → conversations → ClickHouse', () => {
	// Generous timeout: the relay lease may be held by a worker another test file runs, and rows a stopped relay
	// left in doubt wait out their settle time before they are checked against ClickHouse.
	it('counts every call exactly once despite duplicated and reordered deliveries, quarantine included', { timeout: 180_000 }, async () => {
		const t = await createTestTenant(stores.db.db);
		const conn = await createTestConnection(stores.db.db);
		const mapped = uniqueId('agent');
		const unmapped = uniqueId('agent');
		emulator = await startElevenLabsEmulator({
			// Emulator ids derive from the seed; conversation ids are global, so every run needs fresh ones.
			seed: Math.floor(Math.random() * 2 ** 31),
			agents: [{ agentId: mapped, name: 'Mapped' }, { agentId: unmapped, name: 'Unmapped' }],
			webhookUrls: [`${url}/api/webhooks/elevenlabs/${conn.id}`],
			webhookSecret: conn.webhookSecret,
			faults: { duplicateRate: 0.3, reorderRate: 0.2 }
		});
		await mapAgent({ ctx, input: { connectionId: conn.id, agentId: mapped, tenantId: t.id } });
		const calls = emulator.control.generateCalls(80, { finalImmediately: true });
		await emulator.control.flushWebhooks();
		const stats = emulator.control.stats().webhooks;
		expect(stats.failed).toBe(0);
		expect(stats.duplicated).toBeGreaterThan(0);

		await settleInbox(stores.db, conn.id);
		const q = await listQuarantine({ ctx, input: { connectionId: conn.id } });
		const unmappedCalls = calls.filter((c) => c.agent_id === unmapped);
		expect(q.total).toBe(unmappedCalls.length);

		await mapAgent({ ctx, input: { connectionId: conn.id, agentId: unmapped, tenantId: t.id } });
		await releaseQuarantine({ ctx, input: { connectionId: conn.id } });
		await drainOutboxToClickHouse({ db: stores.db, ch: stores.ch });

		const totals = await queryTenantCallTotals(stores.ch, { tenantId: t.id });
		expect(totals).toMatchObject({
			calls: calls.length,
			durationSecs: calls.reduce((s, c) => s + c.call_duration_secs, 0),
			done: calls.filter((c) => c.status === 'done').length,
			failed: calls.filter((c) => c.status === 'failed').length
		});
	});
});
