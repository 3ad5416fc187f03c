import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { POST } from '../../src/routes/api/webhooks/elevenlabs/[connection]/+server';

/**
 * A loopback HTTP server that hands every request to the real SvelteKit webhook route, so emulator deliveries
 * (chunked audio included) take the product's own path. `url` is the base to put before /api/webhooks/...
 */
export async function startWebhookRouteServer(): Promise<{ url: string; close(): Promise<void> }> {
	process.env.AUDIO_STORAGE_DIR ??= await mkdtemp(join(tmpdir(), 'voxcalls-audio-'));
	const server = createServer((req, res) => {
		const connection = (req.url ?? '').split('/').pop() ?? '';
		const request = new Request(`http://localhost${req.url}`, {
			method: req.method,
			headers: req.headers as Record<string, string>,
			body: Readable.toWeb(req) as ReadableStream<Uint8Array>,
			duplex: 'half'
		} as RequestInit);
		Promise.resolve(POST({ request, params: { connection } } as unknown as Parameters<typeof POST>[0])).then(
			async (r: Response) => {
				res.writeHead(r.status, { 'content-type': 'application/json' });
				res.end(Buffer.from(await r.arrayBuffer()));
			},
			(err: unknown) => {
				res.writeHead(500);
				res.end(String(err));
			}
		);
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		close: () => new Promise<void>((r) => server.close(() => r()))
	};
}
