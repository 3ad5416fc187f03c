import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { and, eq, gt, isNotNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startWebhookRouteServer } from '../../factories/webhook-server';
import { startElevenLabsEmulator, type ElevenLabsEmulator } from '../../../src/emulators/elevenlabs/server';
import type { ConversationRecord } from '../../../src/emulators/elevenlabs/state';
import { queryTenantCallRollupTotals } from '../../../src/lib/server/analytics/queries/calls/tenant-call-rollup-totals';
import { queryTenantCallTotals } from '../../../src/lib/server/analytics/queries/calls/tenant-call-totals';
import { conversation, ingestionStatus, outbox, webhookInbox } from '../../../src/lib/server/db/schema/index';
import { createElevenLabsClient, type ElevenLabsClient } from '../../../src/lib/server/elevenlabs/client';
import { syncConnection, withConnectionSyncLock, type SyncResult } from '../../../src/lib/server/ingest/sync';
import { createBoss, sendJob, startBoss, type PgBoss } from '../../../src/lib/server/jobs/boss';
import { mapAgent } from '../../../src/lib/server/services/agents/index';
import { listQuarantine } from '../../../src/lib/server/services/quarantine/index';
import { createTestConnection, factoryActor, uniqueId } from '../../factories/ingest';
import { createTestTenant } from '../../factories/tenant';
import { eventually } from '../../setup/eventually';
import { connectTestStores } from '../../setup/stores';
import { testEnv } from '../../setup/test-env';

// The whole ingestion path under every fault at once, all of them real: 2,000 emulated calls over three tenants and
// one unmapped agent; webhooks (20 % duplicated, 10 % reordered, 15 % dropped) go through the SvelteKit route; 10 %
// of API calls answer 429; the worker process (inbox processor, relay, scheduled sync) is SIGKILLed twice while a
// relay batch is in flight and restarted; the ClickHouse server is stopped for a stretch; the polling sync recovers
// the drops. Afterwards both stores must be exact.

const CALLS = 2_000;
const BURST = 10;
const BURST_EVERY_MS = 200;
const API_KEY = 'soak-api-key';

const exec = promisify(execFile);
const storesSh = (cmd: 'stop-clickhouse' | 'start-clickhouse') => exec('bash', ['scripts/stores.sh', cmd]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stores = connectTestStores();
const ctx = { db: stores.db.db, actor: factoryActor };
const log = (line: string) => console.log(`[soak ${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);
let t0 = Date.now();

let emulator: ElevenLabsEmulator;
let client: ElevenLabsClient | undefined;
let webhookServer: Awaited<ReturnType<typeof startWebhookRouteServer>>;
let webhookBase: string;
let boss: PgBoss;
let worker: ChildProcess | null = null;
let clickhouseStopped = false;

function startWorker() {
	worker = spawn(process.execPath, ['--import', 'tsx', 'src/lib/server/jobs/worker.ts'], {
		env: {
			...process.env,
			...testEnv(),
			LOG_LEVEL: 'error',
			// The scheduled sync ticks every minute and polls this connection whenever it is due.
			POLL_INTERVAL_MINUTES: '1',
			// Small, frequent relay batches: more of them in flight to be killed.
			OUTBOX_BATCH_ROWS: '200',
			OUTBOX_BATCH_MS: '50'
		},
		stdio: ['ignore', 'inherit', 'inherit']
	});
}

async function stopWorker(signal: NodeJS.Signals) {
	const w = worker;
	worker = null;
	if (!w || w.exitCode !== null || w.signalCode !== null) return;
	const exited = once(w, 'exit');
	w.kill(signal);
	await exited;
}

/** Starts the loops now rather than at the next cron minute, as a deploy's boot would. */
async function kickLoops() {
	await sendJob(boss, 'webhook.process', {});
	await sendJob(boss, 'outbox.relay', {});
}

beforeAll(async () => {
	// Emulator deliveries go through the real SvelteKit route.
	webhookServer = await startWebhookRouteServer();
	webhookBase = webhookServer.url;
	boss = createBoss(testEnv().DATABASE_URL, { supervise: false, schedule: false });
	await startBoss(boss);
});

afterAll(async () => {
	await stopWorker('SIGKILL');
	if (clickhouseStopped) await storesSh('start-clickhouse');
	await client?.close();
	await emulator?.close();
	await boss?.stop({ graceful: false, wait: true });
	await webhookServer?.close();
	await stores.close();
});

/** Relay rows of this connection between "attempted" and "sent": a batch in flight (or orphaned by a kill). */
const inDoubt = async (connectionId: string, since: Date) =>
	(
		await stores.db.db
			.select({ n: sql<number>`count(*)::int` })
			.from(outbox)
			.where(and(eq(outbox.connectionId, connectionId), isNotNull(outbox.attemptedAt), gt(outbox.attemptedAt, since)))
	)[0].n;

/**
 * Waits for a relay batch of ours to be in flight, SIGKILLs the worker, and restarts it. The kill counts once the
 * dead worker is seen to have left rows in doubt; otherwise the batch finished first and it tries again.
 */
async function killWorkerMidBatch(connectionId: string): Promise<{ inDoubt: number; attempts: number }> {
	for (let attempt = 1; attempt <= 8; attempt++) {
		const since = new Date(Date.now() - 1_000);
		const until = Date.now() + 20_000;
		while (Date.now() < until && (await inDoubt(connectionId, since)) === 0) await sleep(2);
		await stopWorker('SIGKILL');
		const orphaned = await inDoubt(connectionId, since);
		startWorker();
		await kickLoops();
		if (orphaned > 0) return { inDoubt: orphaned, attempts: attempt };
		await sleep(3_000);
	}
	throw new Error('could not catch the relay mid-batch');
}


it('keeps PostgreSQL and ClickHouse exact through duplicates, drops, reordering, 429s, worker kills and a ClickHouse outage', { timeout: 420_000 }, async () => {
	t0 = Date.now();
	const tenants = await Promise.all([1, 2, 3].map(() => createTestTenant(stores.db.db)));
	const agents = { a: uniqueId('agent'), b: uniqueId('agent'), c: uniqueId('agent'), d: uniqueId('agent'), unmapped: uniqueId('agent') };
	const tenantOfAgent = new Map<string, string | null>([
		[agents.a, tenants[0].id],
		[agents.b, tenants[0].id],
		[agents.c, tenants[1].id],
		[agents.d, tenants[2].id],
		[agents.unmapped, null]
	]);
	emulator = await startElevenLabsEmulator({
		seed: Math.floor(Math.random() * 2 ** 31),
		apiKey: API_KEY,
		agents: Object.values(agents).map((agentId, i) => ({ agentId, name: `Soak agent ${i + 1}` })),
		audioMaxBytes: 4096,
		faults: { duplicateRate: 0.2, reorderRate: 0.1, dropRate: 0.15, http429Rate: 0.1, retryAfterSecs: 0.05 }
	});
	// A platform-level connection: every call's tenant comes from its agent's mapping.
	const conn = await createTestConnection(stores.db.db, { baseUrl: emulator.url, apiKey: API_KEY });
	// Fault tests run alone, after the others: park the connections earlier files left in the shared database (their
	// upstreams are gone), so the worker's scheduled syncs poll this upstream instead of queueing retries for those.
	await stores.db.sql`update elevenlabs_connection set enabled = false where id <> ${conn.id} and enabled`;
	for (const [agentId, tenantId] of tenantOfAgent) if (tenantId) await mapAgent({ ctx, input: { connectionId: conn.id, agentId, tenantId } });
	emulator.control.setWebhookTargets({ urls: [`${webhookBase}/api/webhooks/elevenlabs/${conn.id}`], secret: conn.webhookSecret });
	client = createElevenLabsClient({ baseUrl: emulator.url, apiKey: API_KEY });
	const syncs: SyncResult[] = [];
	const sync = async (label: string) => {
		const r = await withConnectionSyncLock(stores.db.sql, conn.id, () => syncConnection({ ctx: { ...ctx, elevenlabs: client! }, input: { connectionId: conn.id } }), {
			waitMs: 60_000
		});
		if (!r.ran) throw new Error('sync lock busy');
		syncs.push(r.value);
		log(`${label} sync: ${r.value.status} ${JSON.stringify(r.value.counts)} in ${r.value.durationMs} ms`);
		return r.value;
	};

	startWorker();
	await kickLoops();
	log('worker started; generating calls');

	const calls: ConversationRecord[] = [];
	const generating = (async () => {
		while (calls.length < CALLS) {
			calls.push(...emulator.control.generateCalls(Math.min(BURST, CALLS - calls.length)));
			await sleep(BURST_EVERY_MS);
		}
	})();

	try {
		await sleep(6_000);
		const kill1 = await killWorkerMidBatch(conn.id);
		log(`worker SIGKILLed mid-batch #1 (${kill1.inDoubt} rows in doubt, attempt ${kill1.attempts}); restarted`);

		await storesSh('stop-clickhouse');
		clickhouseStopped = true;
		log('ClickHouse stopped');
		await sleep(7_000);
		// A poll while calls are in flight: some are listed in progress and hold the watermark.
		expect((await sync('mid-run')).status).toBe('ok');
		await sleep(6_000);
		await storesSh('start-clickhouse');
		clickhouseStopped = false;
		log('ClickHouse started; the backlog drains');

		const kill2 = await killWorkerMidBatch(conn.id);
		log(`worker SIGKILLed mid-batch #2 (${kill2.inDoubt} rows in doubt, attempt ${kill2.attempts}); restarted`);
	} finally {
		await generating;
	}
	log(`${calls.length} calls generated; waiting for the last to finish upstream`);
	await eventually(async () => calls.every((c) => c.status === 'done' || c.status === 'failed'), { what: 'every call to be final upstream', timeoutMs: 30_000, intervalMs: 500 });
	await emulator.control.flushWebhooks();
	const webhooks = emulator.control.stats().webhooks;
	log(`webhooks: ${JSON.stringify(webhooks)}`);

	const pending = async () => {
		const [inbox] = await stores.db.db
			.select({ n: sql<number>`count(*)::int` })
			.from(webhookInbox)
			.where(and(eq(webhookInbox.connectionId, conn.id), eq(webhookInbox.status, 'pending')));
		const [out] = await stores.db.db
			.select({ n: sql<number>`count(*)::int` })
			.from(outbox)
			.where(eq(outbox.connectionId, conn.id));
		return { inbox: inbox.n, outbox: out.n };
	};
	await eventually(async () => (await pending()).inbox === 0, { what: 'the worker to process every delivery', timeoutMs: 60_000, intervalMs: 500 });

	// The worker's scheduled sync brings what the dropped webhooks did not. The test queues the run the minute
	// tick would (same payload and priority) instead of waiting for the clock.
	const jobId = await sendJob(boss, 'conversation.sync', { connectionId: conn.id, queuedAt: new Date().toISOString() }, { priority: 2 });
	// Generous: other test files' connections (dead upstreams) may be queued for sync ahead of this run.
	await eventually(async () => (await boss.getJobById('conversation.sync', jobId!))?.state === 'completed', { what: 'the worker to run the sync', timeoutMs: 180_000, intervalMs: 500 });
	const [status] = await stores.db.db.select().from(ingestionStatus).where(eq(ingestionStatus.connectionId, conn.id));
	expect(status.lastPollOk).toBe(true);
	const recovered = await stores.db.db
		.select({ n: sql<number>`count(*)::int` })
		.from(conversation)
		.where(and(eq(conversation.connectionId, conn.id), eq(conversation.source, 'poll')));
	log(`worker sync done: ${recovered[0].n} conversations last written by a poll`);
	// Nothing is left for a poll to do.
	const check = await sync('check');
	expect(check.status).toBe('ok');
	expect(check.counts).toMatchObject({ listed: CALLS, fetched: 0, fromListing: 0, written: 0 });

	// The restarted worker drains the inbox and the outbox on its own (in-doubt rows wait out their settle time).
	await eventually(async () => {
		const p = await pending();
		return p.inbox === 0 && p.outbox === 0;
	}, { what: 'the worker to drain the inbox and the outbox', timeoutMs: 150_000, intervalMs: 500 });
	log('inbox and outbox drained');
	await stopWorker('SIGTERM');

	// PostgreSQL: exactly one row per conversation, with upstream's final data and the right tenant.
	const rows = await stores.db.db
		.select({
			conversationId: conversation.conversationId,
			tenantId: conversation.tenantId,
			status: conversation.status,
			startedAt: conversation.startedAt,
			durationSecs: conversation.durationSecs
		})
		.from(conversation)
		.where(eq(conversation.connectionId, conn.id));
	expect(emulator.state.conversations.size).toBe(CALLS);
	expect(rows).toHaveLength(CALLS);
	const byId = new Map(rows.map((r) => [r.conversationId, r]));
	const wrong = calls
		.map((c) => {
			const want = { tenantId: tenantOfAgent.get(c.agent_id), status: c.status, startedAt: c.start_time_unix_secs * 1000, durationSecs: c.call_duration_secs };
			const r = byId.get(c.conversation_id);
			const got = r && { tenantId: r.tenantId, status: r.status, startedAt: r.startedAt?.getTime(), durationSecs: r.durationSecs };
			return JSON.stringify(want) === JSON.stringify(got) ? null : { id: c.conversation_id, want, got };
		})
		.filter((x) => x !== null);
	expect(wrong.slice(0, 5)).toEqual([]);

	// ClickHouse: per tenant, calls and seconds equal PostgreSQL's (and upstream's) exactly.
	for (const t of tenants) {
		const mine = calls.filter((c) => tenantOfAgent.get(c.agent_id) === t.id);
		const [pg] = await stores.db.db
			.select({ calls: sql<number>`count(*)::int`, durationSecs: sql<number>`coalesce(sum(${conversation.durationSecs}), 0)::int` })
			.from(conversation)
			.where(eq(conversation.tenantId, t.id));
		const ch = await queryTenantCallTotals(stores.ch, { tenantId: t.id });
		expect(pg).toEqual({ calls: mine.length, durationSecs: mine.reduce((s, c) => s + c.call_duration_secs, 0) });
		expect({ calls: ch.calls, durationSecs: ch.durationSecs }).toEqual(pg);
		// The dashboard reads the rollup: after every fault it holds the same calls and seconds as FINAL.
		const rollup = await queryTenantCallRollupTotals(stores.ch, { tenantId: t.id });
		expect({ calls: rollup.calls, durationSecs: rollup.durationSecs }).toEqual(pg);
	}

	// The quarantine holds exactly the unmapped agent's calls.
	const q = await listQuarantine({ ctx, input: { connectionId: conn.id } });
	expect(q.total).toBe(calls.filter((c) => c.agent_id === agents.unmapped).length);
	expect(q.groups.map((g) => g.agentId)).toEqual([agents.unmapped]);

	// The faults really happened, and the sync stayed cheap.
	const api = emulator.control.stats();
	expect(webhooks.dropped).toBeGreaterThan(0);
	expect(webhooks.duplicated).toBeGreaterThan(0);
	expect(webhooks.reordered).toBeGreaterThan(0);
	expect(api.injected429).toBeGreaterThan(0);
	const perConversation = api.requests / CALLS;
	log(
		`upstream: ${api.requests} requests (${api.injected429} answered 429) = ${perConversation.toFixed(3)} per conversation; ` +
			`${JSON.stringify(api.requestsByRoute)}; direct syncs ${syncs.length}`
	);
	expect(perConversation).toBeLessThanOrEqual(1.05);
	const [{ failed }] = await stores.db.db
		.select({ failed: sql<number>`count(*)::int` })
		.from(webhookInbox)
		.where(and(eq(webhookInbox.connectionId, conn.id), eq(webhookInbox.status, 'failed')));
	expect(failed).toBe(0);
	log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
