import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookRouteServer } from '../factories/webhook-server';
import { startElevenLabsEmulator, type ElevenLabsEmulator, type ElevenLabsEmulatorOptions } from '../../src/emulators/elevenlabs/server';
import type { ConversationRecord } from '../../src/emulators/elevenlabs/state';
import { queryTenantCallTotals } from '../../src/lib/server/analytics/queries/calls/tenant-call-totals';
import { conversation, ingestionError, ingestionStatus } from '../../src/lib/server/db/schema/index';
import { createElevenLabsClient, type ElevenLabsClient } from '../../src/lib/server/elevenlabs/client';
import { conversationDetailSchema } from '../../src/lib/server/elevenlabs/types';
import { backfillConnection, type BackfillProgress } from '../../src/lib/server/ingest/backfill';
import { drainOutboxToClickHouse } from '../../src/lib/server/ingest/loops';
import { snapshotFromConversationDetail } from '../../src/lib/server/ingest/snapshot';
import { SYNC_DEFAULTS, syncConnection, withConnectionSyncLock, type SyncResult } from '../../src/lib/server/ingest/sync';
import { upsertConversationSnapshots } from '../../src/lib/server/ingest/upsert';
import { getPollWatermark } from '../../src/lib/server/ingest/status';
import { createTestConnection, factoryActor, settleInbox, uniqueId } from '../factories/ingest';
import { createTestTenant } from '../factories/tenant';
import { connectTestStores } from '../setup/stores';

// The polling sync against the emulator and the real stores: what it lists, what it fetches (only what the
// webhooks did not bring in a final state), how the watermark moves, and what a failing run leaves behind.
const stores = connectTestStores();
const ctx = { db: stores.db.db, actor: factoryActor };
const API_KEY = 'sync-test-key';
const DETAIL_ROUTE = 'GET /v1/convai/conversations/{id}';
const LIST_ROUTE = 'GET /v1/convai/conversations';
const emulators: ElevenLabsEmulator[] = [];
const clients: ElevenLabsClient[] = [];
let webhookServer: Awaited<ReturnType<typeof startWebhookRouteServer>>;
let webhookBase: string;

beforeAll(async () => {
	// Emulator deliveries go through the real SvelteKit route.
	webhookServer = await startWebhookRouteServer();
	webhookBase = webhookServer.url;
});
afterAll(async () => {
	await Promise.all(clients.map((c) => c.close()));
	await Promise.all(emulators.map((e) => e.close()));
	await webhookServer?.close();
	await stores.close();
});

const nowSecs = () => Math.floor(Date.now() / 1000);

/** A tenant, an emulated workspace with one agent, a connection to it and a client whose requests we count. */
async function setup(opts: Partial<ElevenLabsEmulatorOptions> & { webhooks?: boolean; maxRetries?: number } = {}) {
	const t = await createTestTenant(stores.db.db);
	const agentId = uniqueId('agent');
	const emu = await startElevenLabsEmulator({
		// Conversation ids are global and derive from the seed: every run needs fresh ones.
		seed: Math.floor(Math.random() * 2 ** 31),
		apiKey: API_KEY,
		agents: [{ agentId, name: 'Front desk' }],
		retryAfterSecs: 0.01,
		audioMaxBytes: 2048,
		...opts
	});
	emulators.push(emu);
	const conn = await createTestConnection(stores.db.db, { tenantId: t.id, baseUrl: emu.url, apiKey: API_KEY });
	if (opts.webhooks) emu.control.setWebhookTargets({ urls: [`${webhookBase}/api/webhooks/elevenlabs/${conn.id}`], secret: conn.webhookSecret });
	const client = createElevenLabsClient({ baseUrl: emu.url, apiKey: API_KEY, retryBaseMs: 5, maxRetries: opts.maxRetries ?? 5 });
	clients.push(client);
	const sync = (input: { now?: Date } = {}) => syncConnection({ ctx: { ...ctx, elevenlabs: client }, input: { connectionId: conn.id, ...input } });
	const route = (name: string) => emu.control.stats().requestsByRoute[name] ?? 0;
	return { t, emu, conn, client, agentId, sync, route };
}

/**
 * Holds the connection's sync lock for the test: a worker started by another test file ticks every enabled
 * connection, and its runs must not interleave with the ones this test counts.
 */
async function exclusive<T>(connectionId: string, fn: () => Promise<T>): Promise<T> {
	const r = await withConnectionSyncLock(stores.db.sql, connectionId, fn, { waitMs: 30_000 });
	if (!r.ran) throw new Error('could not take the sync lock');
	return r.value;
}

async function storedRows(connectionId: string) {
	const rows = await stores.db.db
		.select({
			conversationId: conversation.conversationId,
			status: conversation.status,
			statusRank: conversation.statusRank,
			startedAt: conversation.startedAt,
			durationSecs: conversation.durationSecs,
			hasDetails: sql<boolean>`${conversation.details} is not null`,
			source: conversation.source
		})
		.from(conversation)
		.where(eq(conversation.connectionId, connectionId));
	return new Map(rows.map((r) => [r.conversationId, r]));
}

/** Every emulated call is stored once, final, with upstream's start time and duration. */
async function expectStoredFinal(connectionId: string, calls: ConversationRecord[]) {
	const rows = await storedRows(connectionId);
	expect(rows.size).toBe(calls.length);
	for (const c of calls) {
		const r = rows.get(c.conversation_id);
		expect(r, c.conversation_id).toBeDefined();
		expect({ status: r!.status, startedAt: r!.startedAt?.getTime(), durationSecs: r!.durationSecs }, c.conversation_id).toEqual({
			status: c.status,
			startedAt: c.start_time_unix_secs * 1000,
			durationSecs: c.call_duration_secs
		});
	}
}

/** ClickHouse caught up with the tenant (another test file's worker may be the one relaying). */
async function expectClickHouseTotals(tenantId: string, calls: ConversationRecord[]) {
	const want = { calls: calls.length, durationSecs: calls.reduce((s, c) => s + c.call_duration_secs, 0) };
	const end = Date.now() + 45_000;
	let got = await queryTenantCallTotals(stores.ch, { tenantId });
	while ((got.calls !== want.calls || got.durationSecs !== want.durationSecs) && Date.now() < end) {
		await drainOutboxToClickHouse({ db: stores.db, ch: stores.ch }, { waitForLeaseMs: 1_000 }).catch(() => {});
		got = await queryTenantCallTotals(stores.ch, { tenantId });
	}
	expect({ calls: got.calls, durationSecs: got.durationSecs }).toEqual(want);
}

const asWebhook = (connectionId: string, c: ConversationRecord) =>
	snapshotFromConversationDetail(connectionId, conversationDetailSchema.parse(c.detail), { source: 'webhook', observedAt: new Date() });

const ok = (r: SyncResult) => {
	expect(r.error).toBeUndefined();
	expect(r.status).toBe('ok');
	return r;
};

describe('syncConnection', () => {
	it('fetches details only for conversations not already stored final, and claims the window', async () => {
		const { conn, emu, sync, route } = await setup();
		await exclusive(conn.id, async () => {
			const calls = emu.control.generateCalls(30, { finalImmediately: true, startTimeUnix: nowSecs() - 3600, spacingSecs: 60, sendWebhooks: false });
			// Two thirds arrived by webhook (the processor's write path, here called directly).
			await upsertConversationSnapshots({ ctx, input: { snapshots: calls.slice(0, 20).map((c) => asWebhook(conn.id, c)) } });
			const now = new Date();
			const r = ok(await sync({ now }));
			expect(r.counts).toMatchObject({ listed: 30, current: 20, fetched: 10, written: 10 });
			expect(route(DETAIL_ROUTE)).toBe(10);
			// First run: 24 h back, in 6 h windows, one page each.
			expect(route(LIST_ROUTE)).toBe(SYNC_DEFAULTS.firstSyncLookbackSecs / SYNC_DEFAULTS.windowSecs);
			expect(r.requests).toBe(route(DETAIL_ROUTE) + route(LIST_ROUTE));
			await expectStoredFinal(conn.id, calls);
			// Nothing was in progress: the whole window up to `now` is claimed.
			expect(await getPollWatermark({ ctx, input: { connectionId: conn.id } })).toEqual(new Date(Math.floor(now.getTime() / 1000) * 1000));

			// A second run re-lists only the overlap and finds nothing to fetch.
			const again = ok(await sync());
			expect(again.counts).toMatchObject({ fetched: 0, written: 0 });
			expect(route(DETAIL_ROUTE)).toBe(10);
			expect(again.window!.from.getTime()).toBe(Math.floor(now.getTime() / 1000) * 1000 - SYNC_DEFAULTS.overlapSecs * 1000);
		});
	});

	it('stores calls still in progress from the listing, holds the watermark at their start, and fetches them once final', async () => {
		const { conn, emu, sync, route } = await setup({ progression: { inProgressAfterMs: 50, processingAfterMs: 100, finalAfterMs: 2_500 } });
		await exclusive(conn.id, async () => {
			const old = emu.control.generateCalls(3, { finalImmediately: true, startTimeUnix: nowSecs() - 1800, sendWebhooks: false });
			// Inbound calls are always answered, so they pass through in-progress and processing.
			const live = emu.control.generateCalls(5, { direction: 'inbound', sendWebhooks: false });
			// A run lists up to the current second, exclusive: let the live calls' second pass.
			await new Promise((r) => setTimeout(r, 1_100));
			const first = ok(await sync());
			expect(first.counts).toMatchObject({ listed: 8, fetched: 3, fromListing: 5 });
			expect(route(DETAIL_ROUTE)).toBe(3);
			const rows = await storedRows(conn.id);
			for (const c of live) expect(rows.get(c.conversation_id)).toMatchObject({ status: 'processing', hasDetails: false });
			const heldAt = new Date(Math.min(...live.map((c) => c.start_time_unix_secs)) * 1000);
			expect(first.watermark).toEqual(heldAt);
			expect(await getPollWatermark({ ctx, input: { connectionId: conn.id } })).toEqual(heldAt);

			// Polled again while still in progress: re-listed, not fetched, nothing rewritten.
			const second = ok(await sync());
			expect(second.counts).toMatchObject({ fetched: 0, written: 0 });

			await new Promise((r) => setTimeout(r, 1_500));
			const third = ok(await sync());
			expect(third.counts).toMatchObject({ fetched: 5, written: 5 });
			expect(route(DETAIL_ROUTE)).toBe(8);
			await expectStoredFinal(conn.id, [...old, ...live]);
			expect((await getPollWatermark({ ctx, input: { connectionId: conn.id } }))!.getTime()).toBeGreaterThan(heldAt.getTime());
		});
	});

	it('recovers dropped webhooks through 429s, leaving webhook-final conversations alone', async () => {
		const { t, conn, emu, client, sync } = await setup({
			webhooks: true,
			faults: { dropRate: 0.3, duplicateRate: 0.2, reorderRate: 0.2, http429Rate: 0.3 },
			// With 30 % injected 429s, enough retries that one request exhausting them (0.3^13) never decides the test.
			maxRetries: 12
		});
		await exclusive(conn.id, async () => {
			const calls = emu.control.generateCalls(60, { finalImmediately: true, spacingSecs: 30 });
			await emu.control.flushWebhooks();
			await settleInbox(stores.db, conn.id);
			const stats = emu.control.stats().webhooks;
			expect(stats.dropped).toBeGreaterThan(0);
			const before = await storedRows(conn.id);
			const missing = calls.filter((c) => (before.get(c.conversation_id)?.statusRank ?? -1) < 3);
			// A call_initiation_failure webhook brings no start time; the listing corrects it without a request.
			const failedByWebhook = calls.filter((c) => before.get(c.conversation_id)?.statusRank === 3 && !before.get(c.conversation_id)!.hasDetails);
			expect(missing.length).toBeGreaterThan(0);

			const r = ok(await sync());
			expect(r.counts.fetched).toBe(missing.length);
			expect(r.counts.fromListing).toBe(failedByWebhook.length);
			expect(r.counts.current).toBe(calls.length - missing.length - failedByWebhook.length);
			expect(emu.control.stats().injected429).toBeGreaterThan(0);
			expect(client.stats.retries).toBeGreaterThan(0);
			await expectStoredFinal(conn.id, calls);
			await expectClickHouseTotals(t.id, calls);
		});
	});

	it('re-lists the overlap below the watermark; older late arrivals are the backfill’s', async () => {
		const { conn, emu, client, sync, route } = await setup();
		await exclusive(conn.id, async () => {
			const w1 = ok(await sync()).watermark!;
			expect(w1).not.toBeNull();
			const w1Secs = w1.getTime() / 1000;
			// Listed upstream only now, though they started before the watermark.
			const [inOverlap] = emu.control.generateCalls(1, { finalImmediately: true, startTimeUnix: w1Secs - 120, sendWebhooks: false });
			const [tooLate] = emu.control.generateCalls(1, { finalImmediately: true, startTimeUnix: w1Secs - 2 * SYNC_DEFAULTS.overlapSecs, sendWebhooks: false });
			// Throttled three times on the way: Retry-After is honoured and the run still succeeds.
			emu.control.failNext(3, 429, { pathPrefix: '/v1/convai/conversations' });
			const retriesBefore = client.stats.retries;
			const r = ok(await sync());
			expect(client.stats.retries - retriesBefore).toBe(3);
			expect(r.counts).toMatchObject({ listed: 1, fetched: 1 });
			const rows = await storedRows(conn.id);
			expect(rows.has(inOverlap.conversation_id)).toBe(true);
			expect(rows.has(tooLate.conversation_id)).toBe(false);

			const progress: BackfillProgress[] = [];
			const from = new Date((w1Secs - 3 * 3600) * 1000);
			const b = await backfillConnection({
				ctx: { ...ctx, elevenlabs: client },
				input: { connectionId: conn.id, from, to: new Date(), windowSecs: 3600, onProgress: (p) => progress.push(p) }
			});
			expect(b.counts).toMatchObject({ listed: 2, fetched: 1, current: 1 });
			expect(b.agents).toBe(1);
			expect(progress.length).toBe(progress[0].windowsTotal);
			expect(progress.at(-1)!.counts.listed).toBe(2);
			await expectStoredFinal(conn.id, [inOverlap, tooLate]);
			// The backfill does not move the watermark.
			expect((await getPollWatermark({ ctx, input: { connectionId: conn.id } }))!.getTime()).toBe(r.watermark!.getTime());
			expect(route(DETAIL_ROUTE)).toBe(2);
		});
	});

	it('records a failed run and leaves the watermark where it was; the next run catches up', async () => {
		const { conn, emu, sync } = await setup();
		await exclusive(conn.id, async () => {
			const w1 = ok(await sync()).watermark!;
			const calls = emu.control.generateCalls(5, { finalImmediately: true, startTimeUnix: w1.getTime() / 1000 - 30, spacingSecs: 1, sendWebhooks: false });
			// The client tries 6 times (5 retries); all of them fail.
			emu.control.failNext(6, 500, { pathPrefix: '/v1/convai/conversations' });
			await new Promise((r) => setTimeout(r, 1_100));
			const failed = await sync();
			expect(failed.status).toBe('failed');
			expect(failed.error).toMatch(/500/);
			expect(failed.watermark).toBeNull();
			expect(await getPollWatermark({ ctx, input: { connectionId: conn.id } })).toEqual(w1);
			const [status] = await stores.db.db.select().from(ingestionStatus).where(eq(ingestionStatus.connectionId, conn.id));
			expect(status.lastPollOk).toBe(false);
			const errors = await stores.db.db
				.select()
				.from(ingestionError)
				.where(and(eq(ingestionError.connectionId, conn.id), eq(ingestionError.source, 'poll')));
			expect(errors).toHaveLength(1);
			expect(errors[0].message).toMatch(/sync failed/);

			const next = ok(await sync());
			expect(next.counts).toMatchObject({ fetched: 5 });
			expect(next.watermark!.getTime()).toBeGreaterThan(w1.getTime());
			await expectStoredFinal(conn.id, calls);
			const [after] = await stores.db.db.select().from(ingestionStatus).where(eq(ingestionStatus.connectionId, conn.id));
			expect(after.lastPollOk).toBe(true);
		});
	});

	it('costs at most 1.05 upstream requests per conversation while webhooks flow', async () => {
		const { conn, emu, sync, route } = await setup({
			webhooks: true,
			progression: { inProgressAfterMs: 100, processingAfterMs: 400, finalAfterMs: 800 }
		});
		await exclusive(conn.id, async () => {
			const calls: ConversationRecord[] = [];
			const runs: SyncResult[] = [];
			const end = Date.now() + 5_000;
			let nextSync = Date.now() + 1_000;
			while (Date.now() < end) {
				calls.push(...emu.control.generateCalls(6));
				if (Date.now() >= nextSync) {
					// The worker's processor keeps up with the inbox; here the test drains it before each poll.
					await settleInbox(stores.db, conn.id);
					runs.push(ok(await sync()));
					nextSync = Date.now() + 1_000;
				}
				await new Promise((r) => setTimeout(r, 100));
			}
			await new Promise((r) => setTimeout(r, 1_000));
			await emu.control.flushWebhooks();
			await settleInbox(stores.db, conn.id);
			runs.push(ok(await sync()));
			await expectStoredFinal(conn.id, calls);
			const requests = emu.control.stats().requests;
			const perConversation = requests / calls.length;
			console.log(
				`steady state: ${calls.length} calls, ${runs.length} polls, ${route(LIST_ROUTE)} list + ${route(DETAIL_ROUTE)} detail requests = ${perConversation.toFixed(3)} per conversation`
			);
			expect(perConversation).toBeLessThanOrEqual(1.05);
			// Webhooks brought nearly everything final: details are the exception, not the rule.
			expect(route(DETAIL_ROUTE)).toBeLessThan(calls.length * 0.25);
		});
	});
});
