/**
 * QR redirect benchmark. A load generator (its own process, an undici Pool of 64 keep-alive connections) GETs
 * /q/<code> with a phone's user agent, codes round-robin over a drop's recipients, for a warm-up and a measured
 * window, against the real product path: the built SvelteKit app served by web-server.ts (which answers /q/ on bare
 * node:http) and the job worker relaying to ClickHouse, on the `voxcalls_bench` database pair (re-created per run).
 * In the same run, with the same generator, the reference: bare node:http answering the same kind of 302 and
 * recording nothing. Afterwards: every accepted (302) scan, warm-up included, must be one tracking_event row in
 * PostgreSQL and one row in ClickHouse tracking_events (counted raw, without FINAL, and by distinct event id).
 *
 * Run: `npm run bench -- qr-redirect` or `npx tsx tests/bench/qr-redirect.ts` (about 2 minutes plus the build);
 * `--quick` (BENCH_QUICK=1) for a shorter window. Knobs (env): BENCH_CONNECTIONS 64 · BENCH_WARMUP_S 5 ·
 * BENCH_DURATION_S 20 · BENCH_RECIPIENTS 20000 · BENCH_SKIP_BUILD=1 (reuse build/) · BENCH_DRAIN_TIMEOUT_S 300.
 * Timing never changes the exit code; a lost or double-counted scan does (2).
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { createClickHouse, queryRows } from '../../src/lib/server/analytics/client';
import { sql as chSql } from '../../src/lib/server/analytics/literal';
import { createDb } from '../../src/lib/server/db/client';
import { clickhouseTarget, parseEnv } from '../../src/lib/server/env';
import { createTestTenant } from '../factories/tenant';
import { createTrackedCampaign } from '../factories/tracked-recipients';
import { forkTs, nextMessage, stopAllChildren, stopChild } from './lib/processes';
import type { QrLoadConfig, QrLoadResult } from './lib/qr-load-generator';
import { fmtInt, fmtMs, fmtPct, renderTable } from './lib/stats';
import { BENCH_APP_SECRET, benchStoreUrls, prepareBenchStores } from './lib/stores';
import { buildApp, startVoxCalls, waitForDrain } from './lib/voxcalls';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const GENERATOR = fileURLToPath(new URL('./lib/qr-load-generator.ts', import.meta.url));
const REFERENCE = fileURLToPath(new URL('./lib/qr-reference-server.ts', import.meta.url));
const TARGETS = { shareOfCeiling: 0.25, p99Ms: 50 };
const LANDING_URL = 'https://example.test/offer?ref=postcard';

const log = (s: string) => console.log(`[bench] ${s}`);

function knobs(argv: string[]) {
	const quick = argv.includes('--quick') || process.env.BENCH_QUICK === '1';
	const num = (name: string, full: number, short = full) => Number(process.env[name] ?? (quick ? short : full));
	return {
		quick,
		connections: num('BENCH_CONNECTIONS', 64),
		warmupMs: num('BENCH_WARMUP_S', 5, 3) * 1000,
		durationMs: num('BENCH_DURATION_S', 20, 8) * 1000,
		recipients: num('BENCH_RECIPIENTS', 20_000, 5_000),
		drainTimeoutMs: num('BENCH_DRAIN_TIMEOUT_S', 300) * 1000,
		skipBuild: process.env.BENCH_SKIP_BUILD === '1'
	};
}

async function runQrLoad(config: QrLoadConfig): Promise<QrLoadResult> {
	const child = forkTs(`qr load (${config.phase})`, GENERATOR);
	try {
		await nextMessage(child, 'ready', 60_000);
		const done = nextMessage<{ type: 'done'; result: QrLoadResult }>(child, 'done', config.warmupMs + config.durationMs + 120_000);
		child.send({ type: 'start', config });
		return (await done).result;
	} finally {
		await stopChild(child, 5_000);
	}
}

export async function runQrRedirectBenchmark(argv: string[] = process.argv.slice(2)): Promise<{ lossFree: boolean }> {
	const k = knobs(argv);
	const runTag = randomBytes(3).toString('hex').slice(0, 5);
	const urls = benchStoreUrls();
	const appEnv: Record<string, string> = {
		...urls,
		NODE_ENV: 'production',
		APP_SECRET: BENCH_APP_SECRET,
		LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
		// Every scan comes from 127.0.0.1 here; the per-address limit would otherwise be what is measured.
		TRACKING_RATE_LIMIT_PER_MINUTE: '10000000',
		ELEVENLABS_BASE_URL: 'http://127.0.0.1:9',
		TWILIO_BASE_URL: 'http://127.0.0.1:9'
	};
	Object.assign(process.env, appEnv, { ORIGIN: 'http://127.0.0.1' });
	const e = parseEnv(process.env);
	let lossFree = false;
	try {
		log(`run ${runTag}: ${k.connections} connections, warm-up ${k.warmupMs / 1000} s, measured ${k.durationMs / 1000} s, ${fmtInt(k.recipients)} codes${k.quick ? ' (quick)' : ''}`);
		if (k.skipBuild) log('app: reusing build/ (BENCH_SKIP_BUILD=1)');
		else {
			log('app: npx vite build');
			buildApp(root);
		}
		await prepareBenchStores(root, log);
		const db = createDb(e.DATABASE_URL, { max: 4, applicationName: 'voxcalls-bench' });
		const ch = createClickHouse(clickhouseTarget(e));
		try {
			const t = await createTestTenant(db.db, { name: `Bench ${runTag}`, slug: `bench-${runTag}` });
			const c = await createTrackedCampaign(db.db, { tenantId: t.id, landingUrl: LANDING_URL, drops: [{ sentOn: '2026-01-05', recipients: k.recipients }] });
			const codes = c.drops[0].recipients.map((r) => r.code);
			const load = { codes, connections: k.connections, warmupMs: k.warmupMs, durationMs: k.durationMs };

			log('ceiling: bare node:http answering the same 302');
			const ref = forkTs('qr reference', REFERENCE, { env: { ...process.env, BENCH_LANDING_URL: LANDING_URL } });
			let ceiling: QrLoadResult;
			try {
				const { port } = await nextMessage<{ type: 'listening'; port: number }>(ref, 'listening', 30_000);
				ceiling = await runQrLoad({ ...load, origin: `http://127.0.0.1:${port}`, phase: 'ceiling' });
			} finally {
				await stopChild(ref, 5_000);
			}

			const loadBefore = loadavg()[0];
			const sut = await startVoxCalls(root, appEnv);
			log(`app ${sut.baseUrl} (pid ${sut.app.pid}) and worker (pid ${sut.worker?.pid}) up`);
			const vox = await runQrLoad({ ...load, origin: sut.baseUrl, phase: 'voxcalls' });
			const drain = await waitForDrain(db, k.drainTimeoutMs);
			log(`outbox drained into ClickHouse in ${(drain.ms / 1000).toFixed(1)} s${drain.drained ? '' : ' (NOT drained: timed out)'}`);

			const [pg] = await db.sql<{ n: number }[]>`select count(*)::int as n from tracking_event where campaign_id = ${c.campaignId}`;
			const [chRow] = await queryRows(
				ch,
				chSql`SELECT count() AS raw, uniqExact(event_id) AS ids FROM tracking_events WHERE campaign_id = toUUID(${c.campaignId})`,
				z.object({ raw: z.coerce.number(), ids: z.coerce.number() })
			);
			lossFree = pg.n === vox.acceptedTotal && chRow.raw === vox.acceptedTotal && chRow.ids === vox.acceptedTotal;

			const share = vox.acceptedPerSec / ceiling.acceptedPerSec;
			const met = (ok: boolean) => (ok ? 'yes' : 'NO');
			const non302 = (r: QrLoadResult) => Object.entries(r.statusCounts).filter(([s]) => s !== '302').reduce((n, [, v]) => n + v, 0);
			console.log(
				renderTable(
					['metric', 'VoxCalls', 'ceiling', 'target', 'met?'],
					[
						['accepted scans/s (302, sustained)', `${fmtInt(vox.acceptedPerSec)}/s`, `${fmtInt(ceiling.acceptedPerSec)}/s`, '', ''],
						['share of same-run ceiling', fmtPct(share), '100%', `≥ ${fmtPct(TARGETS.shareOfCeiling)}`, met(share >= TARGETS.shareOfCeiling)],
						['latency p50', fmtMs(vox.latency.p50), fmtMs(ceiling.latency.p50), '', ''],
						['latency p99', fmtMs(vox.latency.p99), fmtMs(ceiling.latency.p99), `≤ ${TARGETS.p99Ms} ms`, met(vox.latency.p99 <= TARGETS.p99Ms)],
						['non-302 answers (whole phase)', fmtInt(non302(vox)), fmtInt(non302(ceiling)), '0', met(non302(vox) === 0)],
						[
							'accepted → PG → CH (raw rows, distinct ids)',
							`${fmtInt(vox.acceptedTotal)} → ${fmtInt(pg.n)} → ${fmtInt(chRow.raw)} (${fmtInt(chRow.ids)})`,
							'—',
							'all present, once',
							met(lossFree)
						]
					]
				)
			);
			if (vox.firstError) log(`first network error: ${vox.firstError}`);
			log(`answers: VoxCalls ${JSON.stringify(vox.statusCounts)}, ceiling ${JSON.stringify(ceiling.statusCounts)}`);
			// The machine is shared: a load average far above its cores means every figure here is a floor.
			log(`1-minute load average: ${loadBefore.toFixed(1)} before the VoxCalls phase, ${loadavg()[0].toFixed(1)} after (${cpus().length} cores)`);
		} finally {
			await Promise.allSettled([db.close(), ch.close()]);
		}
	} finally {
		await stopAllChildren(15_000);
	}
	return { lossFree };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
	runQrRedirectBenchmark().then(
		(r) => process.exit(r.lossFree ? 0 : 2),
		(err: unknown) => {
			console.error('[bench] qr-redirect failed:', err);
			void stopAllChildren(5_000).finally(() => process.exit(1));
		}
	);
}
