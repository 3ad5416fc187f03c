import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { signWebhookBody } from '../../../src/lib/server/elevenlabs/signature';
import { buildPayloadTemplates, conversationIdFor, renderPayload } from './payloads';
import { summarise, type LatencySummary } from './stats';

// The load generator, run as its own process (forked by load.ts) so its CPU is not the server's event loop:
// an undici Pool with N keep-alive connections to 127.0.0.1 posts signed webhook bodies, each with a fresh
// conversation id, signed at send time like upstream. Two modes:
//   closed: N requests always in flight (the next leaves when one returns): finds the sustained maximum;
//   rate:   open loop at a fixed rate (requests leave on schedule whatever the answers): a steady, lower load.
// Warm-up is sent but not counted; throughput and latency count requests that complete inside the window.

export interface LoadConfig {
	origin: string;
	path: string;
	secret: string;
	connections: number;
	mode: 'closed' | 'rate';
	ratePerSec?: number;
	warmupMs: number;
	durationMs: number;
	runTag: string;
	phase: string;
	payload: { seed: number; count: number; targetBytes: number };
	/** Send back the id of every accepted (200) delivery, warm-up and tail included (for the loss check). */
	collectAcceptedIds: boolean;
	/** Stream every n-th delivery accepted inside the window, with its answer time (for visibility); 0 = none. */
	sampleEvery: number;
}

export interface LoadResult {
	phase: string;
	windowMs: number;
	/** 200s that completed inside the window. */
	accepted: number;
	acceptedPerSec: number;
	/** All requests sent, warm-up and tail included. */
	sent: number;
	acceptedTotal: number;
	statusCounts: Record<string, number>;
	networkErrors: number;
	firstError: string | null;
	/** Every request that completed inside the window, whatever its answer. */
	latency: LatencySummary;
	bodyMeanBytes: number;
	acceptedIds: string[];
}

export type LoadMessage =
	| { type: 'ready' }
	| { type: 'samples'; items: Array<[id: string, acceptedAtMs: number]> }
	| { type: 'done'; result: LoadResult };

async function runLoad(cfg: LoadConfig, send: (m: LoadMessage) => void): Promise<LoadResult> {
	const payloads = buildPayloadTemplates(cfg.payload);
	const pool = new Pool(cfg.origin, { connections: cfg.connections, pipelining: 1, keepAliveTimeout: 60_000 });
	send({ type: 'ready' });

	const latencies: number[] = [];
	const statusCounts: Record<string, number> = {};
	const acceptedIds: string[] = [];
	let sample: Array<[string, number]> = [];
	let networkErrors = 0;
	let firstError: string | null = null;
	let seq = 0;
	let accepted = 0;
	let acceptedTotal = 0;

	const t0 = performance.now();
	const windowStart = t0 + cfg.warmupMs;
	const windowEnd = windowStart + cfg.durationMs;
	const flusher = setInterval(() => {
		if (sample.length === 0) return;
		send({ type: 'samples', items: sample });
		sample = [];
	}, 50);

	const sendOne = async (): Promise<void> => {
		const n = seq++;
		const id = conversationIdFor(cfg.runTag, cfg.phase, n);
		const body = renderPayload(payloads.templates[n % payloads.templates.length], id, Math.floor(Date.now() / 1000));
		const headers = { 'content-type': 'application/json', 'elevenlabs-signature': signWebhookBody(body, cfg.secret) };
		const started = performance.now();
		let status: string;
		try {
			const res = await pool.request({ path: cfg.path, method: 'POST', headers, body });
			await res.body.dump();
			status = String(res.statusCode);
		} catch (err) {
			networkErrors++;
			firstError ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
			status = 'network';
		}
		const ended = performance.now();
		statusCounts[status] = (statusCounts[status] ?? 0) + 1;
		const inWindow = ended >= windowStart && ended < windowEnd;
		if (inWindow) latencies.push(ended - started);
		if (status !== '200') return;
		acceptedTotal++;
		if (cfg.collectAcceptedIds) acceptedIds.push(id);
		if (inWindow) {
			accepted++;
			if (cfg.sampleEvery > 0 && n % cfg.sampleEvery === 0) sample.push([id, Date.now()]);
		}
	};

	if (cfg.mode === 'closed') {
		const worker = async () => {
			while (performance.now() < windowEnd) await sendOne();
		};
		await Promise.all(Array.from({ length: cfg.connections }, worker));
	} else {
		const rate = cfg.ratePerSec ?? 100;
		const inflight = new Set<Promise<void>>();
		let launched = 0;
		while (performance.now() < windowEnd) {
			const due = Math.floor(((performance.now() - t0) / 1000) * rate) + 1;
			for (; launched < due; launched++) {
				const p = sendOne().finally(() => inflight.delete(p));
				inflight.add(p);
			}
			await new Promise((r) => setTimeout(r, 2));
		}
		await Promise.all(inflight);
	}
	clearInterval(flusher);
	if (sample.length) send({ type: 'samples', items: sample });
	await pool.close();

	return {
		phase: cfg.phase,
		windowMs: cfg.durationMs,
		accepted,
		acceptedPerSec: accepted / (cfg.durationMs / 1000),
		sent: seq,
		acceptedTotal,
		statusCounts,
		networkErrors,
		firstError,
		latency: summarise(latencies),
		bodyMeanBytes: payloads.meanBytes,
		acceptedIds
	};
}

if (process.send) {
	const send = (m: LoadMessage) => void process.send!(m);
	process.once('message', (m: { type: 'start'; config: LoadConfig }) => {
		runLoad(m.config, send).then(
			(result) => {
				// Leave only once the (possibly large) result has been handed to the IPC channel.
				process.send!({ type: 'done', result } satisfies LoadMessage, undefined, {}, () => process.disconnect());
			},
			(err: unknown) => {
				console.error('[load-generator]', err);
				process.exit(1);
			}
		);
	});
}
