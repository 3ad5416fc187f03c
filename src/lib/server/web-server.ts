import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getWebhookIntake } from './ingest/intake';
import { handleElevenLabsWebhookRequest, webhookConnectionFromPath } from './ingest/webhook-http';
import { log } from './log';

// The production web process: `node --import tsx src/lib/server/web-server.ts` after `vite build`. The built
// SvelteKit app (adapter-node's build/handler.js) serves every page and API; ElevenLabs webhook deliveries, the
// one hot path, go straight to the intake on node:http (webhook-http.ts). Settings are adapter-node's own:
// HOST, PORT, KEEP_ALIVE_TIMEOUT, HEADERS_TIMEOUT, SHUTDOWN_TIMEOUT (seconds; ORIGIN, BODY_SIZE_LIMIT… are read
// by the handler). SIGTERM/SIGINT: stop accepting, let requests in flight finish, flush the inbox writer, exit.

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

	const notFound = (res: ServerResponse) => {
		res.writeHead(404, { 'content-type': 'text/plain' });
		res.end('Not found');
	};
	const server = createServer((req, res) => {
		const connectionId = req.method === 'POST' ? webhookConnectionFromPath(req.url) : null;
		if (connectionId !== null) void handleElevenLabsWebhookRequest(req, res, connectionId, intake);
		else handler(req, res, () => notFound(res));
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
			void intake.writer.drain().finally(() => {
				// Closes the pools (ours and the SvelteKit side's) as under adapter-node's own server.
				process.emit('sveltekit:shutdown' as 'exit', 0);
				setTimeout(() => process.exit(0), 1000);
			});
		});
	};
	process.once('SIGTERM', () => stop('SIGTERM'));
	process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
	console.error('[web] failed to start:', err);
	process.exit(1);
});
