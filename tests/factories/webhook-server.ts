import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handleElevenLabsWebhookRequest, webhookConnectionFromPath } from '../../src/lib/server/ingest/webhook-http';

/**
 * A loopback HTTP server with the production web server's webhook path (web-server.ts → webhook-http.ts), so
 * emulator deliveries (chunked audio included) take the product's own path. `url` is the base to put before
 * /api/webhooks/...
 */
export async function startWebhookRouteServer(): Promise<{ url: string; close(): Promise<void> }> {
	process.env.AUDIO_STORAGE_DIR ??= await mkdtemp(join(tmpdir(), 'voxcalls-audio-'));
	const server = createServer((req, res) => {
		const connectionId = req.method === 'POST' ? webhookConnectionFromPath(req.url) : null;
		if (connectionId !== null) return void handleElevenLabsWebhookRequest(req, res, connectionId);
		res.writeHead(404, { 'content-type': 'application/json' });
		res.end('{"error":"not found"}');
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		close: () =>
			new Promise<void>((r) => {
				server.closeAllConnections();
				server.close(() => r());
			})
	};
}
