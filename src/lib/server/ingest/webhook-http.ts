import type { IncomingMessage, ServerResponse } from 'node:http';
import { log } from '../log';
import { reportFailure } from '../outage';
import { getWebhookIntake, INTAKE_COMPONENT, INTAKE_UNIT, receiveElevenLabsWebhook, type WebhookBody, type WebhookIntake } from './intake';

// The webhook endpoint on bare node:http, as the production web server (src/server/web.ts) serves it: the same
// intake service as the SvelteKit route (which `vite dev` uses), without building a fetch Request and Response
// per delivery: at thousands of deliveries a second that framework work was the largest cost of the request.

const WEBHOOK_PATH = /^\/api\/webhooks\/elevenlabs\/([^/?#]+)\/?(?:\?.*)?$/;

/** The connection id of a webhook URL path, or null when the path is not the ElevenLabs webhook endpoint. */
export function webhookConnectionFromPath(url: string | undefined): string | null {
	const m = url ? WEBHOOK_PATH.exec(url) : null;
	if (!m) return null;
	try {
		return decodeURIComponent(m[1]);
	} catch {
		return null;
	}
}

/** Pauses the request once this much is buffered and unread (audio bodies stream to storage at disk speed). */
const HIGH_WATER_BYTES = 1 << 20;

/** A Node request body as a WebhookBody: chunks in arrival order, with back-pressure; discard() drains the rest. */
export function nodeRequestBody(req: IncomingMessage): WebhookBody {
	let discarding = false;
	return {
		[Symbol.asyncIterator]() {
			const queue: Buffer[] = [];
			let queued = 0;
			let ended = false;
			let failure: Error | null = null;
			let wake: (() => void) | null = null;
			const poke = () => {
				const w = wake;
				wake = null;
				w?.();
			};
			req.on('data', (chunk: Buffer) => {
				if (discarding) return;
				queue.push(chunk);
				queued += chunk.byteLength;
				if (queued > HIGH_WATER_BYTES) req.pause();
				poke();
			});
			req.on('end', () => {
				ended = true;
				poke();
			});
			req.on('error', (err) => {
				failure = err;
				poke();
			});
			req.on('close', () => {
				if (!ended && !failure) failure = new Error('request closed before its body ended');
				poke();
			});
			return {
				async next(): Promise<IteratorResult<Uint8Array>> {
					for (;;) {
						const chunk = queue.shift();
						if (chunk) {
							queued -= chunk.byteLength;
							if (queued <= HIGH_WATER_BYTES && req.isPaused() && !discarding) req.resume();
							return { done: false, value: chunk };
						}
						if (ended) return { done: true, value: undefined };
						if (failure) throw failure;
						await new Promise<void>((r) => (wake = r));
					}
				}
			};
		},
		discard() {
			discarding = true;
			req.resume();
		}
	};
}

function answer(res: ServerResponse, status: number, body: string): void {
	res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
	res.end(body);
}

/** Handles POST /api/webhooks/elevenlabs/<connection> on a Node request; answers exactly like the SvelteKit route. */
export async function handleElevenLabsWebhookRequest(
	req: IncomingMessage,
	res: ServerResponse,
	connectionId: string,
	intake: WebhookIntake = getWebhookIntake()
): Promise<void> {
	const length = req.headers['content-length'];
	const signature = req.headers['elevenlabs-signature'];
	try {
		const result = await receiveElevenLabsWebhook({
			ctx: intake,
			input: {
				connectionId,
				signatureHeader: typeof signature === 'string' ? signature : null,
				contentLength: length !== undefined && /^\d+$/.test(length) ? Number(length) : null,
				body: nodeRequestBody(req)
			}
		});
		if (result.status === 200) answer(res, 200, result.duplicate ? '{"received":true,"duplicate":true}' : '{"received":true,"duplicate":false}');
		else answer(res, result.status, JSON.stringify({ error: result.error }));
	} catch (err) {
		// PostgreSQL away is an outage (503, counted by the reporter), not a defect of this request.
		const unavailable = reportFailure(INTAKE_COMPONENT, err, INTAKE_UNIT);
		if (!unavailable) log.error('webhook request failed', { err, connectionId });
		req.resume();
		if (!res.headersSent) answer(res, unavailable ? 503 : 500, unavailable ? '{"error":"temporarily unavailable"}' : '{"error":"internal error"}');
		else res.destroy();
	}
}
