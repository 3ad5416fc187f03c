import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '../../../src/lib/server/analytics/client';
import type { DbHandle } from '../../../src/lib/server/db/client';
import { emptySyncCounts, syncConnection, withConnectionSyncLock, type SyncCounts } from '../../../src/lib/server/ingest/sync';
import { systemActor } from '../../../src/lib/server/services/context';
import { createConnection } from '../../../src/lib/server/services/connections/index';
import { startElevenLabsEmulator } from '../../../src/emulators/elevenlabs/server';
import { sleep } from './processes';
import { waitForDrain } from './voxcalls';

// Upstream requests per ingested conversation, in steady state: the in-process ElevenLabs emulator is the
// connection's upstream, places calls at a steady rate (live progression, so webhooks arrive seconds after a call
// starts, as upstream's do) and delivers its signed webhooks to the app, while the product's polling sync
// (syncConnection, under its per-connection lock, as the worker runs it) polls its API every `syncEveryMs`.
// The ratio is every API request the emulator served / every conversation of that connection in PostgreSQL.
// The connection's first poll (agents, an empty history) is set-up and not counted.

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
	syncRuns: number;
	syncFailures: number;
	firstSyncError: string | null;
	syncCounts: SyncCounts;
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
		let syncRuns = 0;
		let syncFailures = 0;
		let firstSyncError: string | null = null;
		const syncCounts = emptySyncCounts();
		const runSync = async () => {
			// The worker's scheduled run for this connection (if one comes due) and ours never overlap.
			const r = await withConnectionSyncLock(deps.db.sql, conn.id, () => syncConnection({ ctx, input: { connectionId: conn.id } }), { waitMs: 60_000 });
			if (!r.ran) return;
			syncRuns++;
			for (const key of Object.keys(syncCounts) as (keyof SyncCounts)[]) syncCounts[key] += r.value.counts[key];
			if (r.value.status !== 'ok') {
				syncFailures++;
				firstSyncError ??= r.value.error ?? r.value.status;
			}
		};

		// First contact (agents, an empty history) is set-up, not steady state: run it, then count from zero.
		await runSync();
		syncRuns = 0;
		Object.assign(syncCounts, emptySyncCounts());
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
		opts.log(`upstream: ${placed} calls placed, ${n} conversations stored, ${stats.requests} API requests`);
		return {
			syncRuns,
			syncFailures,
			firstSyncError,
			syncCounts,
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
