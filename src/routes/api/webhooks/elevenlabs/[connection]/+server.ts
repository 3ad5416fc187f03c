import { json } from '@sveltejs/kit';
import { getWebhookIntake, receiveElevenLabsWebhook, webStreamBody } from '$lib/server/ingest/intake';
import type { RequestHandler } from './$types';

// ElevenLabs post-call webhooks. Upstream counts only a 200 as delivered; the body is not read by it. The production
// web server (web-server.ts) answers these on bare node:http (ingest/webhook-http.ts); this route serves `vite dev`.
export const POST: RequestHandler = async ({ request, params }) => {
	const length = request.headers.get('content-length');
	const result = await receiveElevenLabsWebhook({
		ctx: getWebhookIntake(),
		input: {
			connectionId: params.connection,
			signatureHeader: request.headers.get('elevenlabs-signature'),
			contentLength: length !== null && /^\d+$/.test(length) ? Number(length) : null,
			body: request.body ? webStreamBody(request.body) : null
		}
	});
	if (result.status === 200) return json({ received: true, duplicate: result.duplicate });
	return json({ error: result.error }, { status: result.status });
};
