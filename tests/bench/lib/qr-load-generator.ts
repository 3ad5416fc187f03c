import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { summarise, type LatencySummary } from './stats';

// The QR scan load generator, its own process (forked by qr-redirect.ts): an undici Pool of N keep-alive connections
// GETs /q/<code> with a phone's user agent, the codes taken round-robin from a list, N requests always in flight.
// Warm-up is sent but not counted in the rate or latency; every 302 (warm-up and tail included) is counted in
// `acceptedTotal`, the number of scans that must end up in ClickHouse.

export interface QrLoadConfig {
	origin: string;
	codes: string[];
	connections: number;
	warmupMs: number;
	durationMs: number;
	phase: string;
}

export interface QrLoadResult {
	phase: string;
	windowMs: number;
	accepted: number;
	acceptedPerSec: number;
	acceptedTotal: number;
	sent: number;
	statusCounts: Record<string, number>;
	firstError: string | null;
	latency: LatencySummary;
}

const PHONE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';

async function runLoad(cfg: QrLoadConfig): Promise<QrLoadResult> {
	const pool = new Pool(cfg.origin, { connections: cfg.connections, pipelining: 1, keepAliveTimeout: 60_000 });
	const latencies: number[] = [];
	const statusCounts: Record<string, number> = {};
	let firstError: string | null = null;
	let seq = 0;
	let accepted = 0;
	let acceptedTotal = 0;
	const t0 = performance.now();
	const windowStart = t0 + cfg.warmupMs;
	const windowEnd = windowStart + cfg.durationMs;
	const headers = { 'user-agent': PHONE_UA };
	const sendOne = async () => {
		const code = cfg.codes[seq++ % cfg.codes.length];
		const started = performance.now();
		let status: string;
		try {
			const res = await pool.request({ path: `/q/${code}`, method: 'GET', headers });
			await res.body.dump();
			status = String(res.statusCode);
		} catch (err) {
			firstError ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
			status = 'network';
		}
		const ended = performance.now();
		statusCounts[status] = (statusCounts[status] ?? 0) + 1;
		const inWindow = ended >= windowStart && ended < windowEnd;
		if (inWindow) latencies.push(ended - started);
		if (status !== '302') return;
		acceptedTotal++;
		if (inWindow) accepted++;
	};
	await Promise.all(
		Array.from({ length: cfg.connections }, async () => {
			while (performance.now() < windowEnd) await sendOne();
		})
	);
	await pool.close();
	return {
		phase: cfg.phase,
		windowMs: cfg.durationMs,
		accepted,
		acceptedPerSec: accepted / (cfg.durationMs / 1000),
		acceptedTotal,
		sent: seq,
		statusCounts,
		firstError,
		latency: summarise(latencies)
	};
}

if (process.send) {
	process.once('message', (m: { type: 'start'; config: QrLoadConfig }) => {
		runLoad(m.config).then(
			(result) => process.send!({ type: 'done', result }, undefined, {}, () => process.disconnect()),
			(err: unknown) => {
				console.error('[qr-load-generator]', err);
				process.exit(1);
			}
		);
	});
	process.send({ type: 'ready' });
}
