import cluster from 'node:cluster';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getDb } from './db/index';
import { getWebhookIntake } from './ingest/intake';
import { handleElevenLabsWebhookRequest, webhookConnectionFromPath } from './ingest/webhook-http';
import { log } from './log';
import { followWebhookConnectionChanges } from './ingest/connections';
import { drainTrackingIntake, getTrackingIntake } from './services/tracking/index';
import { handleTrackingRequest } from './web-tracking';

// The production web process: `node --import tsx src/lib/server/web-server.ts` after `vite build`. The built
// SvelteKit app (adapter-node's build/handler.js) serves every page and API; ElevenLabs webhook deliveries, the
// one hot path, go straight to the intake on node:http (webhook-http.ts). Settings are adapter-node's own:
// HOST, PORT, KEEP_ALIVE_TIMEOUT, HEADERS_TIMEOUT, SHUTDOWN_TIMEOUT (seconds; ORIGIN, BODY_SIZE_LIMIT… are read
// by the handler). SIGTERM/SIGINT: stop accepting, let requests in flight finish, flush the inbox writer, exit.
// WEB_PROCESSES web processes (node:cluster; default one per core, at most 2) share the port: the webhook intake is
// bound by its round trips, not by one core, and a second process accepted ~9 % more webhooks a second in the
// benchmark. Each keeps its own pool and group-commit writer; cached webhook secrets follow changes made in any
// process (followWebhookConnectionChanges). A process that dies is replaced, unless it died while starting.

type NodeHandler = (req: IncomingMessage, res: ServerResponse, next?: () => void) => void;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const seconds = (name: string, fallback?: number) => {
	const v = process.env[name];
	if (v === undefined || v === '') return fallback;
	const n = Number(v);
	if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number of seconds, got "${v}"`);
	return n;
};

async function main() {
	const handlerFile = resolve(process.env.VOXCALLS_BUILD_DIR ?? resolve(root, 'build'), 'handler.js');
	if (!existsSync(handlerFile)) throw new Error(`${handlerFile} is missing: run \`npx vite build\` first`);
	const { handler } = (await import(pathToFileURL(handlerFile).href)) as { handler: NodeHandler };
	const intake = getWebhookIntake();
	const tracking = getTrackingIntake();
	await followWebhookConnectionChanges(getDb().sql);

	const notFound = (res: ServerResponse) => {
		res.writeHead(404, { 'content-type': 'text/plain' });
		res.end('Not found');
	};
	const server = createServer((req, res) => {
		const connectionId = req.method === 'POST' ? webhookConnectionFromPath(req.url) : null;
		if (connectionId !== null) void handleElevenLabsWebhookRequest(req, res, connectionId, intake);
		// QR scans and the page-view pixel, the other public hot path (web-tracking.ts).
		else if (!handleTrackingRequest(req, res, tracking)) handler(req, res, () => notFound(res));
	});
	const keepAlive = seconds('KEEP_ALIVE_TIMEOUT');
	if (keepAlive !== undefined) server.keepAliveTimeout = keepAlive * 1000;
	const headers = seconds('HEADERS_TIMEOUT');
	if (headers !== undefined) server.headersTimeout = headers * 1000;

	const host = process.env.HOST || '0.0.0.0';
	const port = Number(process.env.PORT || 3000);
	await new Promise<void>((r) => server.listen(port, host, r));
	console.log(`Listening on http://${host}:${port}`);

	let stopping = false;
	const stop = (signal: string) => {
		if (stopping) return;
		stopping = true;
		log.info('web server stopping', { signal });
		server.closeIdleConnections();
		const force = setTimeout(() => server.closeAllConnections(), (seconds('SHUTDOWN_TIMEOUT', 30) ?? 30) * 1000);
		force.unref();
		server.close(() => {
			// Every request has been answered; the writer holds nothing that was not answered, but drain anyway.
			void Promise.all([intake.writer.drain(), drainTrackingIntake()]).finally(() => {
				// Closes the pools (ours and the SvelteKit side's) as under adapter-node's own server.
				process.emit('sveltekit:shutdown' as 'exit', 0);
				setTimeout(() => process.exit(0), 1000);
			});
		});
	};
	// `on`, not `once`: under a supervisor, Ctrl-C reaches a web process twice (from the terminal and passed on),
	// and a second signal must not kill it mid-drain.
	process.on('SIGTERM', () => stop('SIGTERM'));
	process.on('SIGINT', () => stop('SIGINT'));
}

function webProcesses(): number {
	const v = process.env.WEB_PROCESSES;
	if (v === undefined || v === '') return Math.min(2, availableParallelism());
	const n = Number(v);
	if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`WEB_PROCESSES must be a whole number from 1 to 64, got "${v}"`);
	return n;
}

/** Forks the web processes, replaces one that dies after it started, and passes SIGTERM/SIGINT on to them. */
function supervise(count: number): void {
	const STARTUP_MS = 15_000;
	const startedAt = new Map<number, number>();
	let stopping = false;
	const fork = () => {
		const worker = cluster.fork();
		startedAt.set(worker.id, Date.now());
	};
	cluster.on('exit', (worker, code, signal) => {
		const age = Date.now() - (startedAt.get(worker.id) ?? 0);
		startedAt.delete(worker.id);
		if (!stopping && age >= STARTUP_MS) {
			log.error('web process died; starting another', { pid: worker.process.pid, code, signal });
			fork();
			return;
		}
		if (!stopping) {
			// Dying while starting (a missing build, a bad setting) would only die again: stop with it.
			stopping = true;
			for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
			process.exitCode = code || 1;
		}
		if (Object.keys(cluster.workers ?? {}).length === 0) process.exit();
	});
	for (const sig of ['SIGTERM', 'SIGINT'] as const) {
		process.on(sig, () => {
			if (stopping) return;
			stopping = true;
			for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(sig);
		});
	}
	for (let i = 0; i < count; i++) fork();
}

let processes = 1;
try {
	processes = cluster.isPrimary ? webProcesses() : 1;
} catch (err) {
	console.error('[web] failed to start:', err instanceof Error ? err.message : err);
	process.exit(1);
}
if (processes > 1) supervise(processes);
else {
	main().catch((err: unknown) => {
		console.error('[web] failed to start:', err);
		process.exit(1);
	});
}
