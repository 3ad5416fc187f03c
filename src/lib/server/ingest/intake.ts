import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { getDb } from '../db/index';
import type { DbOrTx } from '../db/client';
import { env } from '../env';
import { log } from '../log';
import { reportFailure, reportSuccess } from '../outage';
import { resolveWebhookConnection } from './connections';
import { IngestionErrorRecorder } from './status';
import { AudioEventStreamParser, MalformedJsonError } from './audio-event-parser';
import { createFileAudioStore, type AudioStore, type AudioUpload } from './audio-store';
import { InboxWriter, type InboxRowInput } from './inbox-writer';
import { beginWebhookVerification } from '../elevenlabs/signature';

// The webhook hot path: find the connection's secret (cached), check the signature header before reading the
// body, read the body under a size limit (audio is decoded and streamed to storage instead of buffered), verify
// the HMAC in constant time, check the JSON, and wait for the group-committed inbox INSERT. Nothing else:
// processing happens in the worker.

export interface WebhookIntake {
	db: DbOrTx;
	writer: InboxWriter;
	audio: AudioStore;
	limits: { maxBytes: number; audioMaxBytes: number };
	errors: IngestionErrorRecorder | null;
	now?: () => number;
}

/** A request body as it arrives: a Node request (webhook-http.ts) or a web stream (the SvelteKit route). */
export interface WebhookBody extends AsyncIterable<Uint8Array> {
	/** Stops reading: the rest is thrown away unread. */
	discard(): void;
}

export interface WebhookIntakeInput {
	connectionId: string;
	signatureHeader: string | null;
	contentLength: number | null;
	body: WebhookBody | null;
}

/** A web ReadableStream (a fetch Request's body) as a WebhookBody. */
export function webStreamBody(stream: ReadableStream<Uint8Array>): WebhookBody {
	let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
	return {
		[Symbol.asyncIterator]() {
			const r = (reader = stream.getReader());
			return {
				next: async (): Promise<IteratorResult<Uint8Array>> => {
					const { done, value } = await r.read();
					return done ? { done: true, value: undefined } : { done: false, value };
				}
			};
		},
		discard: () => void (reader ? reader.cancel() : stream.cancel()).catch(() => {})
	};
}

export type WebhookIntakeResult =
	| { status: 200; duplicate: boolean; inboxId: number | null }
	| { status: 400 | 401 | 404 | 413 | 503; error: string };

const AUDIO_TYPE = 'post_call_audio';

/** The intake's name and count in outage log lines (outage.ts). */
export const INTAKE_COMPONENT = 'webhook intake';
export const INTAKE_UNIT = 'webhooks answered 503';

function fail(status: 400 | 401 | 404 | 413 | 503, error: string): WebhookIntakeResult {
	return { status, error };
}

/** Accepts one ElevenLabs webhook delivery: 200 once it is durable in the inbox (or already was). */
export async function receiveElevenLabsWebhook({ ctx, input }: { ctx: WebhookIntake; input: WebhookIntakeInput }): Promise<WebhookIntakeResult> {
	const body = input.body;
	const discard = () => body?.discard();
	let connection;
	try {
		connection = await resolveWebhookConnection(ctx.db, input.connectionId);
	} catch (err) {
		// The secret is cached for 30 s; past that an outage reaches here. Not acknowledged: upstream retries 5xx.
		if (!reportFailure(INTAKE_COMPONENT, err, INTAKE_UNIT)) throw err;
		discard();
		return fail(503, 'temporarily unavailable');
	}
	if (!connection || !connection.enabled) {
		discard();
		return fail(404, 'unknown webhook endpoint');
	}
	const rejected = (status: 400 | 401 | 413, error: string, detail?: unknown) => {
		ctx.errors?.record(connection.id, 'webhook', `${status} ${error}`, detail);
		return fail(status, error);
	};

	const begun = beginWebhookVerification({ header: input.signatureHeader, secret: connection.webhookSecret, nowMs: ctx.now?.() });
	if (!begun.ok) {
		discard();
		return rejected(401, 'invalid signature', { reason: begun.reason });
	}
	const { maxBytes, audioMaxBytes } = ctx.limits;
	if (input.contentLength !== null && input.contentLength > audioMaxBytes) {
		discard();
		return rejected(413, 'payload too large');
	}
	if (!body) return rejected(400, 'empty body');

	const verifier = begun.verifier;
	const digest = createHash('sha256');
	let size = 0;
	let chunks: Uint8Array[] = [];
	// Past maxBytes only an audio event may continue; it is parsed as it streams and its audio written to disk.
	let stream: { parser: AudioEventStreamParser; upload: AudioUpload; malformed: boolean } | null = null;
	const abortStream = async () => {
		if (stream) await stream.upload.abort().catch(() => {});
	};
	const feed = async (chunk: Uint8Array) => {
		if (!stream || stream.malformed) return;
		try {
			for (const bytes of stream.parser.write(chunk)) await stream.upload.write(bytes);
		} catch (err) {
			if (!(err instanceof MalformedJsonError)) throw err;
			// Keep reading: the signature is judged before the JSON, so an unsigned body still gets a 401.
			stream.malformed = true;
		}
	};

	// Iterated by hand: leaving early must not tear the connection down, discard() lets the rest go.
	const chunksIn = body[Symbol.asyncIterator]();
	try {
		for (;;) {
			const { done, value } = await chunksIn.next();
			if (done) break;
			size += value.byteLength;
			if (size > audioMaxBytes) {
				body.discard();
				await abortStream();
				return rejected(413, 'payload too large');
			}
			verifier.update(value);
			digest.update(value);
			if (stream) {
				await feed(value);
				continue;
			}
			chunks.push(value);
			if (size > maxBytes) {
				stream = { parser: new AudioEventStreamParser(), upload: await ctx.audio.begin(), malformed: false };
				const buffered = chunks;
				chunks = [];
				for (const c of buffered) await feed(c);
			}
		}
	} catch (err) {
		await abortStream();
		throw err;
	}

	const verdict = verifier.verify();
	if (!verdict.ok) {
		await abortStream();
		return rejected(401, 'invalid signature', { reason: verdict.reason });
	}
	const dedupKey = digest.digest('hex');

	let row: InboxRowInput;
	if (stream) {
		let envelope;
		try {
			if (stream.malformed) throw new MalformedJsonError('malformed');
			for (const bytes of stream.parser.end()) await stream.upload.write(bytes);
			envelope = stream.parser.envelope;
		} catch (err) {
			await abortStream();
			if (err instanceof MalformedJsonError) return rejected(400, 'malformed JSON');
			throw err;
		}
		if (envelope.type !== AUDIO_TYPE || !envelope.sawAudio) {
			await abortStream();
			return rejected(413, 'payload too large', { type: envelope.type, bytes: size });
		}
		if (!envelope.conversationId || !envelope.agentId) {
			await abortStream();
			return rejected(400, 'post_call_audio without conversation_id or agent_id');
		}
		const audioKey = ctx.audio.keyFor(connection.id, envelope.conversationId);
		await stream.upload.commit(audioKey);
		row = {
			connectionId: connection.id,
			eventType: AUDIO_TYPE,
			conversationId: envelope.conversationId,
			agentId: envelope.agentId,
			eventTimestamp: envelope.eventTimestamp,
			dedupKey,
			body: JSON.stringify({
				type: AUDIO_TYPE,
				event_timestamp: envelope.eventTimestamp,
				data: { agent_id: envelope.agentId, conversation_id: envelope.conversationId, audio_bytes: envelope.audioBytes }
			}),
			audioKey
		};
	} else {
		const text = (chunks.length === 1 ? Buffer.from(chunks[0].buffer, chunks[0].byteOffset, chunks[0].byteLength) : Buffer.concat(chunks)).toString('utf8');
		chunks = [];
		let event: Record<string, unknown>;
		try {
			const parsed: unknown = JSON.parse(text);
			if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return rejected(400, 'malformed JSON: not an object');
			event = parsed as Record<string, unknown>;
		} catch {
			return rejected(400, 'malformed JSON');
		}
		if (typeof event.type !== 'string' || event.type === '') return rejected(400, 'malformed event: no type');
		const data = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as Record<string, unknown>;
		const conversationId = typeof data.conversation_id === 'string' ? data.conversation_id : null;
		const agentId = typeof data.agent_id === 'string' ? data.agent_id : null;
		const eventTimestamp = typeof event.event_timestamp === 'number' && Number.isFinite(event.event_timestamp) ? Math.floor(event.event_timestamp) : null;
		let storedBody = text;
		let audioKey: string | null = null;
		if (event.type === AUDIO_TYPE && typeof data.full_audio === 'string') {
			if (!conversationId || !agentId) return rejected(400, 'post_call_audio without conversation_id or agent_id');
			const audio = Buffer.from(data.full_audio, 'base64');
			const upload = await ctx.audio.begin();
			try {
				await upload.write(audio);
				audioKey = ctx.audio.keyFor(connection.id, conversationId);
				await upload.commit(audioKey);
			} catch (err) {
				await upload.abort();
				throw err;
			}
			storedBody = JSON.stringify({ ...event, data: { ...data, full_audio: undefined, audio_bytes: audio.length } });
		}
		row = { connectionId: connection.id, eventType: event.type, conversationId, agentId, eventTimestamp, dedupKey, body: storedBody, audioKey };
	}

	try {
		const written = await ctx.writer.write(row);
		reportSuccess(INTAKE_COMPONENT);
		return { status: 200, duplicate: written.duplicate, inboxId: written.id };
	} catch (err) {
		// Not durable, so not acknowledged: upstream retries 5xx (when retries are on for the webhook). PostgreSQL
		// being away is an outage, summarised by the reporter; anything else is logged as the defect it is.
		if (!reportFailure(INTAKE_COMPONENT, err, INTAKE_UNIT)) log.error('webhook inbox write failed', { err, connectionId: connection.id });
		return fail(503, 'temporarily unavailable');
	}
}

let shared: WebhookIntake | undefined;

/** The web process's intake, over the process-wide pool (group commits hold at most a few of its connections). */
export function getWebhookIntake(): WebhookIntake {
	if (!shared) {
		const e = env();
		const handle = getDb();
		shared = {
			db: handle.db,
			writer: new InboxWriter(handle.sql),
			// Not yet in env.ts (owned elsewhere): recordings default to the git-ignored .data/audio.
			audio: createFileAudioStore(resolve(env().AUDIO_STORAGE_DIR)),
			limits: { maxBytes: e.WEBHOOK_MAX_BYTES, audioMaxBytes: e.WEBHOOK_AUDIO_MAX_BYTES },
			errors: new IngestionErrorRecorder(handle.db)
		};
	}
	return shared;
}
