/**
 * Ingestion benchmark. A load generator (its own process, an undici Pool of 64 keep-alive connections) posts signed
 * ElevenLabs webhooks (about 3 KB: the emulator's realistic post_call_transcription bodies, each with a fresh
 * conversation id, signed at send time) over 127.0.0.1 for a warm-up and then a measured window, against the real
 * product path: the built SvelteKit app (`node build/index.js`) and the job worker, on a dedicated PostgreSQL and
 * ClickHouse database pair `voxcalls_bench`, dropped, re-created and migrated on every run. In the same run, with
 * the same generator, it measures the references: the ceiling (bare node:http that only verifies the signature) and
 * a naive endpoint (one INSERT, one commit, per request). Then: zero loss (every accepted id in PostgreSQL
 * `conversation` and counted once in ClickHouse `call_events`), webhook-to-ClickHouse visibility at a steady
 * 200/s, and upstream requests per conversation while the emulator places calls, sends its webhooks to the app and
 * the polling sync runs against its API. The worker runs throughout with the product's defaults: during the load,
 * a burst far above INBOX_BURST_RATE, its processor puts the intake first (src/lib/server/ingest/intake-priority.ts),
 * so the table also prints how many conversations it stored meanwhile and how fast the backlog drained afterwards.
 *
 * Run: `npm run bench` (every benchmark) or `npx tsx tests/bench/ingest-webhooks.ts`, about 8 minutes; add `--quick`
 * (or BENCH_QUICK=1) for a 2-3 minute smoke version. It prints one table (metric | VoxCalls | ceiling | naive |
 * target | met?) and the details behind it (answers, CPU per process, backlog, sync counts). Knobs (env):
 *   BENCH_CONNECTIONS 64 · BENCH_WARMUP_S 15 · BENCH_DURATION_S 20 · BENCH_BODY_BYTES 3072 · BENCH_NAIVE_POOL 10
 *   BENCH_VIS_RATE 200 · BENCH_VIS_S 10 · BENCH_SAMPLE_EVERY 50 (visibility sample under full load)
 *   BENCH_UPSTREAM_S 180 · BENCH_UPSTREAM_CALLS_PER_SEC 10 · BENCH_SYNC_EVERY_S 60 · BENCH_DRAIN_TIMEOUT_S 300
 *   BENCH_PHASES ceiling,naive,voxcalls,visibility,upstream (any subset) · BENCH_SKIP_BUILD=1 (reuse build/)
 *   BENCH_DATABASE_URL / BENCH_CLICKHOUSE_URL (names must end in `_bench`) · app settings (OUTBOX_BATCH_MS…) pass through
 *   profiling: BENCH_PROFILE=1 (PostgreSQL wait events), BENCH_APP_NODE_ARGS / BENCH_WORKER_NODE_ARGS (e.g.
 *   "--cpu-prof --cpu-prof-dir=/tmp/prof"), BENCH_WORKER_DURING_LOAD=0 (intake alone; labelled, not the product figure),
 *   BENCH_PG_SETUP_SQL (SQL run on the bench database after migrating: try a schema change before writing it)
 * Timing never changes the exit code; a lost or double-counted delivery does (2): that is correctness, not speed.
 * Everything it starts is stopped at the end (SIGTERM, SIGKILL after 15 s); the machine is shared, so the details
 * show how much CPU other processes took during each window.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClickHouse } from '../../src/lib/server/analytics/client';
import { createDb } from '../../src/lib/server/db/client';
import { clickhouseTarget, parseEnv } from '../../src/lib/server/env';
import { systemActor } from '../../src/lib/server/services/context';
import { createConnection } from '../../src/lib/server/services/connections/index';
import { createTestTenant } from '../factories/tenant';
import { cpuSeconds, cpuShares, readPidFile } from './lib/cpu';
import type { LoadConfig, LoadResult } from './lib/load-generator';
import { runLoadPhase } from './lib/load';
import { forkTs, nextMessage, stopAllChildren, stopChild } from './lib/processes';
import { NAIVE_TABLE_DDL } from './lib/reference-servers';
import { fmtInt, fmtMs, fmtPct, renderTable } from './lib/stats';
import { BENCH_APP_SECRET, benchStoreUrls, prepareBenchStores } from './lib/stores';
import { measureUpstreamRequests, type UpstreamResult } from './lib/upstream';
import { PgWaitSampler } from './lib/pg-waits';
import { VisibilityProbe } from './lib/visibility';
import { buildApp, checkZeroLoss, pipelineBacklog, startVoxCalls, waitForDrain, type Backlog, type LossCheck } from './lib/voxcalls';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const REFERENCE_SERVER = fileURLToPath(new URL('./lib/reference-servers.ts', import.meta.url));

const TARGETS = { webhooksPerSec: 2000, shareOfCeiling: 0.25, p99Ms: 50, visibilityP95Ms: 2000, requestsPerConversation: 1.05 };

function knobs(argv: string[]) {
	const quick = argv.includes('--quick') || process.env.BENCH_QUICK === '1';
	const num = (name: string, full: number, short = full) => {
		const v = process.env[name];
		return v !== undefined && v !== '' ? Number(v) : quick ? short : full;
	};
	const phases = new Set((process.env.BENCH_PHASES ?? 'ceiling,naive,voxcalls,visibility,upstream').split(',').map((s) => s.trim()));
	return {
		quick,
		phases,
		connections: num('BENCH_CONNECTIONS', 64),
		warmupMs: num('BENCH_WARMUP_S', 15, 3) * 1000,
		durationMs: num('BENCH_DURATION_S', 20, 5) * 1000,
		bodyBytes: num('BENCH_BODY_BYTES', 3072),
		visRate: num('BENCH_VIS_RATE', 200),
		visMs: num('BENCH_VIS_S', 10, 5) * 1000,
		sampleEvery: num('BENCH_SAMPLE_EVERY', 50),
		upstreamMs: num('BENCH_UPSTREAM_S', 180, 30) * 1000,
		upstreamCallsPerSec: num('BENCH_UPSTREAM_CALLS_PER_SEC', 10),
		// The shortest poll interval the product allows (POLL_INTERVAL_MINUTES=1): the most requests it can make.
		syncEveryMs: num('BENCH_SYNC_EVERY_S', 60, 10) * 1000,
		drainTimeoutMs: num('BENCH_DRAIN_TIMEOUT_S', 300) * 1000,
		naivePool: num('BENCH_NAIVE_POOL', 10),
		profile: process.env.BENCH_PROFILE === '1',
		// Diagnostic only: hold the worker back until the throughput window is over (intake alone).
		workerDuringLoad: process.env.BENCH_WORKER_DURING_LOAD !== '0',
		skipBuild: process.env.BENCH_SKIP_BUILD === '1'
	};
}

const log = (s: string) => console.log(`[bench] ${s}`);

interface VoxCallsFigures {
	load: LoadResult;
	backlogAtEnd: Backlog;
	drainMs: number;
	drained: boolean;
	loadVisibility: { p95: number; samples: number; unseen: number };
	cpu: Record<string, number>;
	pgWaits: string[];
	/** Conversations written to PostgreSQL per second during the measured window (the processing rate). */
	storedPerSec: number;
}

/** Starts a reference server in its own process and loads it like the app; `roots` adds processes to the CPU view. */
async function measureReference(
	kind: 'ceiling' | 'naive',
	load: Omit<LoadConfig, 'origin' | 'phase'>,
	env: Record<string, string>,
	roots: Record<string, number | undefined> = {}
) {
	const child = forkTs(`${kind} server`, REFERENCE_SERVER, { env: { ...process.env, ...env, BENCH_REFERENCE: kind } });
	try {
		const { port } = await nextMessage<{ type: 'listening'; port: number }>(child, 'listening', 30_000);
		let before: Record<string, number> = {};
		let cpu: Record<string, number> = {};
		const all = (gen: number) => ({ generator: gen, server: child.pid, ...roots });
		const result = await runLoadPhase(
			{ ...load, origin: `http://127.0.0.1:${port}`, phase: kind[0] },
			{
				onWindowStart: (gen) => (before = cpuSeconds(all(gen))),
				onWindowEnd: (gen) => (cpu = cpuShares(before, cpuSeconds(all(gen)), load.durationMs / 1000))
			}
		);
		return { result, cpu };
	} finally {
		await stopChild(child, 5_000);
	}
}

export async function runIngestWebhooksBenchmark(argv: string[] = process.argv.slice(2)): Promise<{ lossFree: boolean }> {
	const k = knobs(argv);
	const runTag = randomBytes(3).toString('hex').slice(0, 5);
	const audioDir = mkdtempSync(join(tmpdir(), 'voxcalls-bench-audio-'));
	const urls = benchStoreUrls();
	const appEnv: Record<string, string> = {
		...urls,
		NODE_ENV: 'production',
		APP_SECRET: BENCH_APP_SECRET,
		LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
		// adapter-node's own limit must sit above the endpoint's audio limit (the endpoint enforces its own).
		BODY_SIZE_LIMIT: process.env.BODY_SIZE_LIMIT ?? '60M',
		AUDIO_STORAGE_DIR: audioDir,
		// Nothing in a benchmark may leave the machine.
		ELEVENLABS_BASE_URL: 'http://127.0.0.1:9',
		TWILIO_BASE_URL: 'http://127.0.0.1:9'
	};
	Object.assign(process.env, appEnv, { ORIGIN: 'http://127.0.0.1' });
	const e = parseEnv(process.env);
	const db = createDb(e.DATABASE_URL, { max: 4, applicationName: 'voxcalls-bench' });
	const ch = createClickHouse(clickhouseTarget(e));
	const pgPid = readPidFile(join(process.env.VOXCALLS_DATA_DIR ?? join(root, '.data'), 'pg', 'postmaster.pid'));
	const chPid = readPidFile(join(process.env.VOXCALLS_DATA_DIR ?? join(root, '.data'), 'clickhouse', 'clickhouse.pid'));

	const refs: Partial<Record<'ceiling' | 'naive', { result: LoadResult; cpu: Record<string, number> }>> = {};
	let vox: VoxCallsFigures | undefined;
	let visibility: { p95: number; p50: number; max: number; samples: number; unseen: number; rate: number; load: LoadResult } | undefined;
	let loss: LossCheck | undefined;
	let upstream: UpstreamResult | undefined;
	try {
		log(`run ${runTag}: ${k.connections} connections, warm-up ${k.warmupMs / 1000} s, measured ${k.durationMs / 1000} s${k.quick ? ' (quick)' : ''}`);
		const needsApp = ['voxcalls', 'visibility', 'upstream'].some((p) => k.phases.has(p));
		// Built first, so a broken build fails the run before minutes of measuring.
		if (needsApp && k.skipBuild) log('app: reusing build/ (BENCH_SKIP_BUILD=1)');
		else if (needsApp) {
			log('app: npx vite build');
			buildApp(root);
		}
		await prepareBenchStores(root, log);
		await db.sql.unsafe(NAIVE_TABLE_DDL);
		const ctx = { db: db.db, actor: systemActor('bench') };
		const t = await createTestTenant(db.db, { name: `Bench ${runTag}`, slug: `bench-${runTag}` });
		const secret = `wsec_bench_${randomUUID()}`;
		const conn = await createConnection({
			ctx,
			input: { name: `Bench load ${runTag}`, baseUrl: 'http://127.0.0.1:9', apiKey: `sk_bench_${randomUUID()}`, webhookSecret: secret, tenantId: t.id }
		});
		const load: Omit<LoadConfig, 'origin' | 'phase'> = {
			path: `/api/webhooks/elevenlabs/${conn.id}`,
			secret,
			connections: k.connections,
			mode: 'closed',
			warmupMs: k.warmupMs,
			durationMs: k.durationMs,
			runTag,
			payload: { seed: 42, count: 400, targetBytes: k.bodyBytes },
			collectAcceptedIds: false,
			sampleEvery: 0
		};

		if (k.phases.has('ceiling')) {
			log('ceiling: bare node:http, signature check only');
			refs.ceiling = await measureReference('ceiling', load, { BENCH_SECRET: secret });
		}
		if (k.phases.has('naive')) {
			log(`naive: one INSERT per request (pool of ${k.naivePool})`);
			const env = { BENCH_SECRET: secret, BENCH_DATABASE_URL: urls.DATABASE_URL, BENCH_NAIVE_POOL: String(k.naivePool) };
			refs.naive = await measureReference('naive', load, env, { postgres: pgPid });
		}

		if (needsApp) {
			const sut = await startVoxCalls(root, appEnv, k.workerDuringLoad || !k.phases.has('voxcalls'));
			log(`app ${sut.baseUrl} (pid ${sut.app.pid}) up, worker ${sut.worker ? `(pid ${sut.worker.pid}) up` : 'held back until the load stops (BENCH_WORKER_DURING_LOAD=0)'}`);
			const acceptedIds: string[] = [];

			if (k.phases.has('voxcalls')) {
				log('VoxCalls: built app + worker, full pipeline');
				// Polled every 2 s, not 100 ms: each poll sends every sampled id still unseen (thousands, during a burst the
				// processor defers) to the ClickHouse being measured, and the benchmark process builds those queries on the
				// same two cores; the reference phases carry no such observer. This sample is for information (the
				// visibility target is measured at a steady rate below), and during a burst it is tens of seconds anyway.
				const probe = new VisibilityProbe(ch, t.id, 2000);
				probe.start();
				let before: Record<string, number> = {};
				let cpu: Record<string, number> = {};
				// How fast the worker turned deliveries into conversation rows meanwhile (processing, not intake).
				const storedConversations = () =>
					db.sql<{ n: number }[]>`select count(*)::int as n from conversation where connection_id = ${conn.id}`.then((r) => r[0].n);
				let storedAtStart: Promise<number> | undefined;
				let storedAtEnd: Promise<number> | undefined;
				const sampler = k.profile ? new PgWaitSampler(db.sql, new URL(urls.DATABASE_URL).pathname.slice(1)) : null;
				const roots = (gen: number) => ({ generator: gen, app: sut.app.pid, worker: sut.worker?.pid, postgres: pgPid, clickhouse: chPid });
				const result = await runLoadPhase(
					{ ...load, origin: sut.baseUrl, phase: 'v', collectAcceptedIds: true, sampleEvery: k.sampleEvery },
					{
						onSamples: (items) => probe.add(items),
						onWindowStart: (gen) => {
							before = cpuSeconds(roots(gen));
							storedAtStart = storedConversations();
							sampler?.start();
						},
						onWindowEnd: (gen) => {
							cpu = cpuShares(before, cpuSeconds(roots(gen)), k.durationMs / 1000);
							storedAtEnd = storedConversations();
						}
					}
				);
				const storedPerSec = ((await storedAtEnd!) - (await storedAtStart!)) / (k.durationMs / 1000);
				const pgWaits = (await sampler?.stop()) ?? [];
				for (const id of result.acceptedIds) acceptedIds.push(id);
				const backlogAtEnd = await pipelineBacklog(db);
				await sut.startWorker();
				log(`VoxCalls: ${fmtInt(result.acceptedPerSec)}/s accepted; backlog at the end: inbox ${backlogAtEnd.inboxPending}, outbox ${backlogAtEnd.outboxUnsent}; draining`);
				const drain = await waitForDrain(db, k.drainTimeoutMs);
				await probe.settle(5_000);
				const pv = probe.result();
				vox = {
					load: result,
					backlogAtEnd,
					drainMs: drain.ms,
					drained: drain.drained,
					loadVisibility: { p95: pv.summary.p95, samples: pv.summary.count + pv.unseen, unseen: pv.unseen },
					cpu,
					pgWaits,
					storedPerSec
				};
			}

			if (k.phases.has('visibility')) {
				log(`visibility: ${k.visRate}/s steady for ${k.visMs / 1000} s, ClickHouse polled every 100 ms`);
				const probe = new VisibilityProbe(ch, t.id);
				probe.start();
				const result = await runLoadPhase(
					{ ...load, origin: sut.baseUrl, phase: 'w', mode: 'rate', ratePerSec: k.visRate, warmupMs: 0, durationMs: k.visMs, collectAcceptedIds: true, sampleEvery: 1 },
					{ onSamples: (items) => probe.add(items) }
				);
				for (const id of result.acceptedIds) acceptedIds.push(id);
				await probe.settle(30_000);
				const pv = probe.result();
				visibility = { p95: pv.summary.p95, p50: pv.summary.p50, max: pv.summary.max, samples: pv.summary.count + pv.unseen, unseen: pv.unseen, rate: k.visRate, load: result };
			}

			if (acceptedIds.length > 0) {
				const drain = await waitForDrain(db, k.drainTimeoutMs);
				if (!drain.drained) log(`pipeline not drained after ${k.drainTimeoutMs / 1000} s: ${JSON.stringify(drain.left)}`);
				loss = await checkZeroLoss(db, ch, t.id, acceptedIds);
			}

			if (k.phases.has('upstream')) {
				log(`upstream: emulator places ${k.upstreamCallsPerSec} calls/s for ${k.upstreamMs / 1000} s, polling sync every ${k.syncEveryMs / 1000} s`);
				upstream = await measureUpstreamRequests(
					{ db, ch },
					{ appUrl: sut.baseUrl, tenantId: t.id, callsPerSec: k.upstreamCallsPerSec, durationMs: k.upstreamMs, syncEveryMs: k.syncEveryMs, drainTimeoutMs: k.drainTimeoutMs, log }
				);
			}
		}
	} finally {
		await stopAllChildren(15_000);
		await Promise.allSettled([db.close(), ch.close()]);
		rmSync(audioDir, { recursive: true, force: true });
	}

	printReport({ k, refs, vox, visibility, loss, upstream });
	const lossFree = !loss || (loss.missingPostgres.length === 0 && loss.missingClickHouse.length === 0 && loss.miscounted.length === 0);
	return { lossFree };
}

function printReport(r: {
	k: ReturnType<typeof knobs>;
	refs: Partial<Record<'ceiling' | 'naive', { result: LoadResult; cpu: Record<string, number> }>>;
	vox?: VoxCallsFigures;
	visibility?: { p95: number; p50: number; max: number; samples: number; unseen: number; rate: number; load: LoadResult };
	loss?: LossCheck;
	upstream?: UpstreamResult;
}) {
	const { k, refs, vox, visibility, loss, upstream } = r;
	const c = refs.ceiling?.result;
	const n = refs.naive?.result;
	const v = vox?.load;
	const met = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'yes' : 'NO');
	const rate = (x?: LoadResult) => (x ? `${fmtInt(x.acceptedPerSec)}/s` : '—');
	const share = (x?: LoadResult) => (x && c ? fmtPct(x.acceptedPerSec / c.acceptedPerSec) : '—');
	const non200 = (x?: LoadResult) => (x ? fmtInt(x.sent - x.acceptedTotal) : '—');
	const lossFree = loss ? loss.missingPostgres.length === 0 && loss.missingClickHouse.length === 0 && loss.miscounted.length === 0 : undefined;

	const rows: string[][] = [
		[
			'accepted webhooks/s (sustained)',
			rate(v),
			rate(c),
			rate(n),
			`≥ ${fmtInt(TARGETS.webhooksPerSec)}/s`,
			met(v ? v.acceptedPerSec >= TARGETS.webhooksPerSec : undefined)
		],
		['share of same-run ceiling', share(v), c ? '100%' : '—', share(n), `≥ ${fmtPct(TARGETS.shareOfCeiling)}`, met(v && c ? v.acceptedPerSec / c.acceptedPerSec >= TARGETS.shareOfCeiling : undefined)],
		['latency p50', fmtMs(v?.latency.p50 ?? NaN), fmtMs(c?.latency.p50 ?? NaN), fmtMs(n?.latency.p50 ?? NaN), '', ''],
		['latency p99', fmtMs(v?.latency.p99 ?? NaN), fmtMs(c?.latency.p99 ?? NaN), fmtMs(n?.latency.p99 ?? NaN), `≤ ${TARGETS.p99Ms} ms`, met(v ? v.latency.p99 <= TARGETS.p99Ms : undefined)],
		['processed into PostgreSQL meanwhile', vox ? `${fmtInt(vox.storedPerSec)}/s` : '—', '—', '—', '(info)', ''],
		[
			'backlog drained after the load',
			vox ? `${fmtInt(vox.backlogAtEnd.inboxPending)} in ${(vox.drainMs / 1000).toFixed(1)} s${vox.drainMs > 0 ? ` (${fmtInt(vox.backlogAtEnd.inboxPending / (vox.drainMs / 1000))}/s)` : ''}` : '—',
			'—',
			'—',
			'(info)',
			''
		],
		['non-200 answers (whole phase)', non200(v), non200(c), non200(n), '0', met(v ? v.sent === v.acceptedTotal : undefined)],
		[
			'zero loss: accepted → PG → CH (once)',
			loss ? `${fmtInt(loss.accepted)} → ${fmtInt(loss.inPostgres)} → ${fmtInt(loss.inClickHouse)}` : '—',
			'—',
			'—',
			'all present, counted once',
			met(lossFree)
		],
		[
			`visibility p95 (${visibility?.rate ?? k.visRate}/s steady)`,
			visibility ? `${fmtMs(visibility.p95)}${visibility.unseen ? ` (${visibility.unseen} unseen)` : ''}` : '—',
			'—',
			'—',
			`≤ ${fmtInt(TARGETS.visibilityP95Ms)} ms`,
			met(visibility ? visibility.p95 <= TARGETS.visibilityP95Ms && visibility.unseen === 0 : undefined)
		],
		[
			'visibility p95 (at full load, sample)',
			vox ? `${fmtMs(vox.loadVisibility.p95)}${vox.loadVisibility.unseen ? ` (${vox.loadVisibility.unseen} unseen)` : ''}` : '—',
			'—',
			'—',
			'(info)',
			''
		],
		[
			'upstream requests / conversation',
			upstream ? upstream.requestsPerConversation.toFixed(3) : '—',
			'—',
			'—',
			`≤ ${TARGETS.requestsPerConversation}`,
			met(upstream ? upstream.requestsPerConversation <= TARGETS.requestsPerConversation && upstream.syncFailures === 0 : undefined)
		]
	];
	console.log('');
	console.log(`Ingestion benchmark: ${k.connections} connections over loopback, ${k.warmupMs / 1000} s warm-up + ${k.durationMs / 1000} s measured per endpoint, ~${fmtInt(v?.bodyMeanBytes ?? c?.bodyMeanBytes ?? k.bodyBytes)} B signed bodies`);
	console.log('');
	// Held-back worker (diagnostic): the column is the intake alone, not the product's figure.
	console.log(renderTable(['metric', k.workerDuringLoad ? 'VoxCalls' : 'VoxCalls (intake only, worker held back)', 'ceiling', 'naive', 'target', 'met?'], rows));
	console.log('');

	const details: string[] = [];
	for (const [name, x] of [['VoxCalls', v], ['ceiling', c], ['naive', n]] as const) {
		if (!x) continue;
		details.push(
			`${name}: ${fmtInt(x.accepted)} accepted in ${x.windowMs / 1000} s; p90 ${fmtMs(x.latency.p90)}, max ${fmtMs(x.latency.max)}; sent ${fmtInt(x.sent)} in all, answers ${JSON.stringify(x.statusCounts)}${x.firstError ? `, first error: ${x.firstError}` : ''}`
		);
	}
	const machine = new Set(['others', 'interrupts', 'steal']);
	const cpuLine = (name: string, cpu?: Record<string, number>, x?: LoadResult) => {
		if (!cpu || !Object.keys(cpu).length) return null;
		// CPU time of the processes taking part, per accepted request: what one webhook costs this machine.
		const ours = Object.entries(cpu).filter(([p]) => !machine.has(p)).reduce((a, [, v]) => a + v, 0);
		const per = x && x.acceptedPerSec > 0 ? `; ${((ours / x.acceptedPerSec) * 1000).toFixed(2)} ms CPU per accepted request` : '';
		return `CPU in the window (${name}, 100% = one core of ${cpus().length}): ${Object.entries(cpu).map(([p, s]) => `${p} ${fmtPct(s)}`).join(', ')}${per}`;
	};
	const cpuLines = [
		cpuLine('VoxCalls', vox?.cpu, v),
		cpuLine('ceiling', refs.ceiling?.cpu, c),
		cpuLine('naive', refs.naive?.cpu, n)
	];
	for (const line of cpuLines) {
		if (line) details.push(line);
	}
	const noisiest = Math.max(...[vox?.cpu, refs.ceiling?.cpu, refs.naive?.cpu].map((x) => x?.others ?? 0));
	if (noisiest > 0.15) {
		details.push(`NOTE: other processes on this machine used up to ${fmtPct(noisiest)} of a core during a window: the figures are pessimistic; run again when it is quiet.`);
	}
	if (vox) {
		details.push(
			`VoxCalls pipeline: ${fmtInt(vox.storedPerSec)} conversations/s written to PostgreSQL during the window while ${fmtInt(vox.load.acceptedPerSec)}/s were accepted; backlog when the load stopped: inbox ${fmtInt(vox.backlogAtEnd.inboxPending)}, outbox ${fmtInt(vox.backlogAtEnd.outboxUnsent)}; drained ${vox.drained ? 'in' : 'NOT within'} ${(vox.drainMs / 1000).toFixed(1)} s; visibility sample at full load: ${vox.loadVisibility.samples} deliveries`
		);
	}
	if (visibility) {
		details.push(
			`visibility phase: ${fmtInt(visibility.load.acceptedTotal)} accepted at ${visibility.rate}/s (latency p50 ${fmtMs(visibility.load.latency.p50)}, p99 ${fmtMs(visibility.load.latency.p99)}); visible after p50 ${fmtMs(visibility.p50)}, p95 ${fmtMs(visibility.p95)}, max ${fmtMs(visibility.max)}; ${visibility.unseen} not seen within 30 s`
		);
	}
	if (loss && (loss.missingPostgres.length || loss.missingClickHouse.length || loss.miscounted.length)) {
		details.push(
			`LOSS: missing in PostgreSQL ${loss.missingPostgres.length} (e.g. ${loss.missingPostgres.slice(0, 3).join(', ')}), missing in ClickHouse ${loss.missingClickHouse.length} (e.g. ${loss.missingClickHouse.slice(0, 3).join(', ')}), miscounted ${loss.miscounted.length}`
		);
	}
	if (upstream) {
		const sc = upstream.syncCounts;
		details.push(
			`upstream phase: ${upstream.callsPlaced} calls placed at ${k.upstreamCallsPerSec}/s over ${k.upstreamMs / 1000} s, ${upstream.conversationsIngested} conversations stored; ` +
				`${upstream.upstreamRequests} API requests ${JSON.stringify(upstream.requestsByRoute)}; webhooks ${JSON.stringify(upstream.webhooks)}; ` +
				`sync every ${k.syncEveryMs / 1000} s: ${upstream.syncRuns} runs (${upstream.syncFailures} failed${upstream.firstSyncError ? `: ${upstream.firstSyncError}` : ''}), ` +
				`${sc.pages} pages, ${sc.listed} listed, ${sc.current} already final, ${sc.fetched} fetched, ${sc.fromListing} from the listing`
		);
	}
	if (vox?.pgWaits.length) details.push(...vox.pgWaits);
	console.log(details.join('\n'));
	console.log('');
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
	const abort = (sig: string) => {
		log(`${sig}: stopping what the benchmark started`);
		void stopAllChildren(5_000).finally(() => process.exit(130));
	};
	process.once('SIGINT', () => abort('SIGINT'));
	process.once('SIGTERM', () => abort('SIGTERM'));
	runIngestWebhooksBenchmark().then(
		({ lossFree }) => process.exit(lossFree ? 0 : 2),
		async (err: unknown) => {
			console.error('[bench] failed:', err);
			await stopAllChildren(5_000);
			process.exit(1);
		}
	);
}
