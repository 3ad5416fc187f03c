import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '../../../src/lib/server/analytics/client';
import type { DbHandle } from '../../../src/lib/server/db/client';
import { systemActor } from '../../../src/lib/server/services/context';
import { createConnection } from '../../../src/lib/server/services/connections/index';
import { startElevenLabsEmulator } from '../../../src/emulators/elevenlabs/server';
import { sleep } from './processes';
import { waitForDrain } from './voxcalls';

// Upstream requests per ingested conversation, in steady state: the in-process ElevenLabs emulator is the
// connection's upstream, places calls at a steady rate (live progression, so webhooks arrive seconds after a call
// starts, as upstream's do) and delivers its signed webhooks to the app, while the polling sync runs against its API.
// The ratio is every API request the emulator served / every conversation of that connection in PostgreSQL.

const SYNC_MODULE = fileURLToPath(new URL('../../../src/lib/server/ingest/sync.ts', import.meta.url));

type SyncVerb = (args: { ctx: Record<string, unknown>; input: { connectionId: string } }) => Promise<unknown>;

/** The polling sync verb, if the product has one yet (it is being written beside this benchmark). */
async function loadSyncVerb(): Promise<SyncVerb | null> {
	if (!existsSync(SYNC_MODULE)) return null;
	const mod = (await import(SYNC_MODULE)) as { syncConnection?: unknown };
	return typeof mod.syncConnection === 'function' ? (mod.syncConnection as SyncVerb) : null;
}

export interface UpstreamOptions {
	appUrl: string;
	tenantId: string;
	callsPerSec: number;
	durationMs: number;
	syncEveryMs: number;
	drainTimeoutMs: number;
	log: (s: string) => void;
}

export interface UpstreamResult {
	syncAvailable: boolean;
	syncRuns: number;
	syncErrors: number;
	firstSyncError: string | null;
	callsPlaced: number;
	conversationsIngested: number;
	upstreamRequests: number;
	requestsPerConversation: number;
	requestsByRoute: Record<string, number>;
	webhooks: { sent: number; delivered: number; failed: number };
}

export async function measureUpstreamRequests(deps: { db: DbHandle; ch: ClickHouseClient }, opts: UpstreamOptions): Promise<UpstreamResult> {
	const apiKey = `sk_bench_${randomUUID()}`;
	const webhookSecret = `wsec_bench_${randomUUID()}`;
	const emulator = await startElevenLabsEmulator({
		// Conversation ids derive from the seed; a random one keeps them apart from earlier phases.
		seed: Math.floor(Math.random() * 2 ** 31),
		apiKey,
		webhookSecret,
		agents: [{ name: 'Front desk' }, { name: 'Sales line' }, { name: 'Support' }]
	});
	const ctx = { db: deps.db.db, ch: deps.ch, actor: systemActor('bench') };
	let generator: NodeJS.Timeout | null = null;
	try {
		const conn = await createConnection({
			ctx,
			input: { name: 'Bench upstream', baseUrl: emulator.url, apiKey, webhookSecret, tenantId: opts.tenantId }
		});
		emulator.control.setWebhookTargets({ urls: [`${opts.appUrl}/api/webhooks/elevenlabs/${conn.id}`] });
		const sync = await loadSyncVerb();
		let syncRuns = 0;
		let syncErrors = 0;
		let firstSyncError: string | null = null;
		const runSync = async () => {
			if (!sync) return;
			syncRuns++;
			try {
				await sync({ ctx, input: { connectionId: conn.id } });
			} catch (err) {
				syncErrors++;
				firstSyncError ??= err instanceof Error ? err.message : String(err);
			}
		};

		opts.log(sync ? 'upstream: polling sync found (syncConnection)' : 'upstream: no syncConnection in src/lib/server/ingest/sync.ts yet; webhooks only');
		// First contact (agents, an empty history) is set-up, not steady state: run it, then count from zero.
		await runSync();
		emulator.control.resetStats();

		let placed = 0;
		generator = setInterval(() => {
			emulator.control.generateCalls(1);
			placed++;
		}, 1000 / opts.callsPerSec);
		const end = Date.now() + opts.durationMs;
		while (Date.now() < end) {
			await sleep(Math.min(opts.syncEveryMs, end - Date.now()));
			await runSync();
		}
		clearInterval(generator);
		generator = null;
		// Let the last calls finish (the emulator's progression ends 4 s after a call starts), deliver, poll once more.
		await sleep(emulator.state.progression.finalAfterMs + 500);
		await emulator.control.flushWebhooks();
		await runSync();
		await waitForDrain(deps.db, opts.drainTimeoutMs);

		const [{ n }] = await deps.db.sql<{ n: number }[]>`select count(*)::int as n from conversation where connection_id = ${conn.id}`;
		const stats = emulator.control.stats();
		return {
			syncAvailable: sync !== null,
			syncRuns,
			syncErrors,
			firstSyncError,
			callsPlaced: placed,
			conversationsIngested: n,
			upstreamRequests: stats.requests,
			requestsPerConversation: n > 0 ? stats.requests / n : NaN,
			requestsByRoute: stats.requestsByRoute,
			webhooks: { sent: stats.webhooks.sent, delivered: stats.webhooks.delivered, failed: stats.webhooks.failed }
		};
	} finally {
		if (generator) clearInterval(generator);
		await emulator.close();
	}
}
