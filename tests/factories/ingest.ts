import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { DbHandle, DbOrTx } from '../../src/lib/server/db/client';
import { webhookInbox } from '../../src/lib/server/db/schema/index';
import { drainInbox } from '../../src/lib/server/ingest/loops';
import { signWebhookBody } from '../../src/lib/server/elevenlabs/signature';
import { systemActor } from '../../src/lib/server/services/context';
import { createConnection, type ConnectionView } from '../../src/lib/server/services/connections/index';
import { eventually } from '../setup/eventually';

export const factoryActor = systemActor('test-factory');

/** A fresh ElevenLabs connection (platform-level unless tenantId is given) with known secrets. */
export async function createTestConnection(
	db: DbOrTx,
	opts: { tenantId?: string | null; baseUrl?: string; webhookSecret?: string; apiKey?: string } = {}
): Promise<ConnectionView & { webhookSecret: string; apiKey: string }> {
	const suffix = randomUUID().slice(0, 8);
	const webhookSecret = opts.webhookSecret ?? `wsec_${randomUUID()}`;
	const apiKey = opts.apiKey ?? `sk_${randomUUID()}`;
	const view = await createConnection({
		ctx: { db, actor: factoryActor },
		input: { name: `Test connection ${suffix}`, baseUrl: opts.baseUrl ?? 'http://127.0.0.1:1', apiKey, webhookSecret, tenantId: opts.tenantId ?? null }
	});
	return { ...view, webhookSecret, apiKey };
}

export const uniqueId = (prefix: string) => `${prefix}_${randomUUID().replaceAll('-', '')}`;

/** A post_call_transcription body in upstream's wire shape. */
export function transcriptionEvent(input: {
	conversationId: string;
	agentId: string;
	status?: string;
	startUnix?: number;
	durationSecs?: number;
	eventTimestamp?: number;
	callSuccessful?: string;
	direction?: 'inbound' | 'outbound';
	cost?: number;
}) {
	const start = input.startUnix ?? Math.floor(Date.now() / 1000) - 600;
	const status = input.status ?? 'done';
	return {
		type: 'post_call_transcription',
		event_timestamp: input.eventTimestamp ?? Math.floor(Date.now() / 1000),
		data: {
			agent_id: input.agentId,
			conversation_id: input.conversationId,
			status,
			user_id: null,
			transcript: [
				{ role: 'agent', message: 'Hello, how can I help?', time_in_call_secs: 0, tool_calls: null, tool_results: null, feedback: null },
				{ role: 'user', message: 'I want to book an appointment.', time_in_call_secs: 3 }
			],
			metadata: {
				start_time_unix_secs: start,
				call_duration_secs: input.durationSecs ?? 120,
				cost: input.cost ?? 300,
				termination_reason: '',
				phone_call: {
					type: 'twilio',
					direction: input.direction ?? 'inbound',
					phone_number_id: 'phnum_1',
					agent_number: '+14155550100',
					external_number: '+14155550199',
					call_sid: `CA${input.conversationId}`,
					stream_sid: 'MZ1'
				}
			},
			analysis:
				status === 'done'
					? { call_successful: input.callSuccessful ?? 'success', transcript_summary: 'Booked.', call_summary_title: 'Booking', evaluation_criteria_results: {}, data_collection_results: {} }
					: null,
			conversation_initiation_client_data: { dynamic_variables: { system__caller_id: '+14155550199' } },
			has_audio: status === 'done',
			has_user_audio: status === 'done',
			has_response_audio: status === 'done'
		}
	};
}

/** Signs `body` as ElevenLabs does and returns the SvelteKit event a route handler receives. */
export function signedWebhookEvent(
	connectionId: string,
	body: string | Buffer,
	opts: { secret: string; timestampSecs?: number; header?: string | null; chunked?: boolean; chunkBytes?: number }
) {
	const headers = new Headers({ 'content-type': 'application/json' });
	const signature = opts.header === undefined ? signWebhookBody(body, opts.secret, opts.timestampSecs) : opts.header;
	if (signature !== null) headers.set('ElevenLabs-Signature', signature);
	const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
	let requestBody: BodyInit;
	if (opts.chunked) {
		const size = opts.chunkBytes ?? 16 * 1024;
		let i = 0;
		requestBody = new ReadableStream<Uint8Array>({
			pull(controller) {
				if (i >= bytes.length) return controller.close();
				controller.enqueue(new Uint8Array(bytes.subarray(i, i + size)));
				i += size;
			}
		});
	} else {
		headers.set('content-length', String(bytes.length));
		requestBody = new Uint8Array(bytes);
	}
	const request = new Request(`http://localhost/api/webhooks/elevenlabs/${connectionId}`, {
		method: 'POST',
		headers,
		body: requestBody,
		// Node's fetch Request needs this for a stream body.
		...(opts.chunked ? { duplex: 'half' } : {})
	} as RequestInit);
	return { request, params: { connection: connectionId } };
}

/**
 * Processes the inbox until this connection has nothing pending. Other test files drain the shared inbox too
 * (SKIP LOCKED hands their processor some of our rows), so "my drain found nothing" is not enough.
 */
export async function settleInbox(db: DbHandle, connectionId: string, timeoutMs = 30_000): Promise<void> {
	await eventually(
		async () => {
			await drainInbox({ db: db.db });
			const [{ n }] = await db.db
				.select({ n: sql<number>`count(*)::int` })
				.from(webhookInbox)
				.where(and(eq(webhookInbox.connectionId, connectionId), eq(webhookInbox.status, 'pending')));
			if (n > 0) throw new Error(`inbox of ${connectionId} still has ${n} pending rows`);
		},
		{ what: 'the inbox to settle', timeoutMs, intervalMs: 50 }
	);
}
