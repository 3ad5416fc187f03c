import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ElevenLabsClient, ElevenLabsError } from '@elevenlabs/elevenlabs-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startElevenLabsEmulator, type ElevenLabsEmulator } from '../../src/emulators/elevenlabs/server';
import { verifyWebhookSignature } from '../../src/lib/server/elevenlabs/signature';
import { webhookEventSchema } from '../../src/lib/server/elevenlabs/types';
import { eventually } from '../setup/eventually';

const API_KEY = 'conformance-key';
const SECRET = 'wsec_conformance';

interface Received {
	body: string;
	signature: string;
	transferEncoding: string | undefined;
	contentLength: string | undefined;
	type: string;
	conversationId: string;
}

let emulator: ElevenLabsEmulator;
let sdk: ElevenLabsClient;
let receiver: Server;
let received: Received[] = [];

beforeAll(async () => {
	receiver = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			const body = Buffer.concat(chunks).toString('utf8');
			const parsed = JSON.parse(body) as { type: string; data: { conversation_id: string } };
			received.push({
				body,
				signature: String(req.headers['elevenlabs-signature']),
				transferEncoding: req.headers['transfer-encoding'],
				contentLength: req.headers['content-length'],
				type: parsed.type,
				conversationId: parsed.data.conversation_id
			});
			res.writeHead(200).end('ok');
		});
	});
	await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
	const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/elevenlabs`;
	emulator = await startElevenLabsEmulator({
		apiKey: API_KEY,
		seed: 7,
		webhookUrls: [hookUrl],
		webhookSecret: SECRET,
		progression: { inProgressAfterMs: 150, processingAfterMs: 350, finalAfterMs: 550 },
		agents: [
			{ agentId: 'agent_front', name: 'Front desk', phoneNumbers: ['+14155550123', '+442071234567'] },
			{ agentId: 'agent_sales', name: 'Sales', phoneNumbers: ['+12125550199'] }
		]
	});
	emulator.control.generateCalls(60, { finalImmediately: true, startTimeUnix: 1_760_000_000, spacingSecs: 30 });
	sdk = new ElevenLabsClient({ apiKey: API_KEY, baseUrl: emulator.url, maxRetries: 0 });
	await emulator.control.flushWebhooks();
});

afterAll(async () => {
	await emulator?.close();
	await new Promise((r) => receiver?.close(r));
});

beforeEach(async () => {
	await emulator.control.flushWebhooks();
	emulator.control.setFaults({ duplicateRate: 0, dropRate: 0, reorderRate: 0, delayMs: 0, http429Rate: 0, http500Rate: 0, slowMs: 0, retryAfterSecs: 1 });
	received = [];
});

describe('official SDK against the emulator', () => {
	it('lists conversations with cursor pagination', async () => {
		const first = await sdk.conversationalAi.conversations.list({ pageSize: 25 });
		expect(first.conversations).toHaveLength(25);
		expect(first.hasMore).toBe(true);
		const second = await sdk.conversationalAi.conversations.list({ pageSize: 25, cursor: first.nextCursor! });
		const ids = new Set([...first.conversations, ...second.conversations].map((c) => c.conversationId));
		expect(ids.size).toBe(50);
		const asc = await sdk.conversationalAi.conversations.list({ pageSize: 5, sortDirection: 'asc' });
		expect(asc.conversations[0].startTimeUnixSecs).toBe(1_760_000_000);
		// Walking every page in each direction gives the same set, in mirror order.
		const walk = async (sortDirection: 'asc' | 'desc') => {
			const ids: string[] = [];
			let cursor: string | undefined;
			do {
				const page = await sdk.conversationalAi.conversations.list({ pageSize: 7, sortDirection, cursor });
				ids.push(...page.conversations.map((c) => c.conversationId));
				cursor = page.hasMore ? page.nextCursor ?? undefined : undefined;
			} while (cursor);
			return ids;
		};
		const descIds = await walk('desc');
		expect(descIds).toHaveLength(60);
		expect(await walk('asc')).toEqual([...descIds].reverse());
		const windowed = await sdk.conversationalAi.conversations.list({ callStartAfterUnix: 1_760_000_000 + 30 * 49, pageSize: 100 });
		expect(windowed.conversations).toHaveLength(10);
	});

	it('gets every kind of conversation with all keys the SDK requires', async () => {
		const recs = [...emulator.state.conversations.values()];
		const kinds = new Set(recs.map((r) => `${r.status}/${r.call_result}/${r.batch ? 'batch' : 'single'}`));
		expect([...kinds].some((k) => k.startsWith('failed/'))).toBe(true);
		expect([...kinds].some((k) => k.endsWith('/batch'))).toBe(true);
		for (const rec of recs) {
			const c = await sdk.conversationalAi.conversations.get(rec.conversation_id);
			expect(c.conversationId).toBe(rec.conversation_id);
			expect(c.hasAuxiliaryAudio).toBe(false);
			const phone = c.metadata.phoneCall;
			expect(phone?.type).toBe('twilio');
			if (phone?.type === 'twilio') {
				expect(phone.callSid).toMatch(/^CA[0-9a-f]{32}$/);
				expect(phone.externalNumber).toMatch(/^\+(1|44)\d{9,11}$/);
			}
			const vars = c.conversationInitiationClientData?.dynamicVariables ?? {};
			expect(vars.system__conversation_id).toBe(rec.conversation_id);
			if (rec.direction === 'inbound') expect(vars.system__caller_id).toBe(rec.external_number);
			if (rec.batch) expect(c.metadata.batchCall?.batchCallId).toBe(rec.batch.batch_call_id);
			if (rec.status === 'done') expect(c.analysis?.callSuccessful).toMatch(/success|failure/);
		}
	});

	it('streams audio and deletes a conversation', async () => {
		const rec = [...emulator.state.conversations.values()].find((c) => c.status === 'done' && c.call_duration_secs > 0)!;
		const stream = await sdk.conversationalAi.conversations.audio.get(rec.conversation_id);
		const bytes = Buffer.from(await new Response(stream).arrayBuffer());
		expect(bytes.equals(emulator.state.audioFor(rec))).toBe(true);

		await sdk.conversationalAi.conversations.delete(rec.conversation_id);
		const err = await sdk.conversationalAi.conversations.get(rec.conversation_id).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(ElevenLabsError);
		expect((err as ElevenLabsError).statusCode).toBe(404);
	});

	it('lists, creates and gets agents; lists and imports phone numbers', async () => {
		const { agents } = await sdk.conversationalAi.agents.list();
		expect(agents.map((a) => a.agentId).sort()).toEqual(['agent_front', 'agent_sales']);
		const created = await sdk.conversationalAi.agents.create({
			name: 'Support bot',
			conversationConfig: { agent: { firstMessage: 'Hi!', language: 'en' }, tts: { voiceId: 'voice_1' } }
		});
		const agent = await sdk.conversationalAi.agents.get(created.agentId);
		expect(agent.name).toBe('Support bot');
		expect(agent.conversationConfig.agent?.firstMessage).toBe('Hi!');

		const numbers = await sdk.conversationalAi.phoneNumbers.list();
		expect(numbers.map((n) => n.phoneNumber)).toContain('+442071234567');
		const imported = await sdk.conversationalAi.phoneNumbers.create({
			provider: 'twilio',
			phoneNumber: '+15125550100',
			label: 'Austin',
			sid: 'AC123',
			token: 'tok'
		});
		expect(imported.phoneNumberId).toMatch(/^phnum_/);
	});

	it('places a Twilio outbound call and a batch call', async () => {
		const number = [...emulator.state.phoneNumbers.values()].find((p) => p.agent_id === 'agent_sales')!;
		const call = await sdk.conversationalAi.twilio.outboundCall({
			agentId: 'agent_sales',
			agentPhoneNumberId: number.phone_number_id,
			toNumber: '+447700900123',
			conversationInitiationClientData: { dynamicVariables: { lead_id: 'lead_42' } }
		});
		expect(call.success).toBe(true);
		expect(call.callSid).toMatch(/^CA/);
		const conv = await sdk.conversationalAi.conversations.get(call.conversationId!);
		expect(conv.conversationInitiationClientData?.dynamicVariables?.lead_id).toBe('lead_42');

		const batch = await sdk.conversationalAi.batchCalls.create({
			callName: 'Spring promo',
			agentId: 'agent_sales',
			agentPhoneNumberId: number.phone_number_id,
			recipients: [{ phoneNumber: '+14155550101' }, { phoneNumber: '+14155550102' }]
		});
		expect(batch.totalCallsScheduled).toBe(2);
		const detail = await sdk.conversationalAi.batchCalls.get(batch.id);
		expect(detail.recipients).toHaveLength(2);
		const convId = detail.recipients[0].conversationId!;
		const batchConv = await sdk.conversationalAi.conversations.get(convId);
		expect(batchConv.metadata.batchCall?.batchCallId).toBe(batch.id);
		const list = await sdk.conversationalAi.batchCalls.list();
		expect(list.batchCalls.map((b) => b.id)).toContain(batch.id);
	});

	it('rejects a bad API key with the upstream error body', async () => {
		const bad = new ElevenLabsClient({ apiKey: 'nope', baseUrl: emulator.url, maxRetries: 0 });
		const err = (await bad.conversationalAi.conversations.list().catch((e: unknown) => e)) as ElevenLabsError;
		expect(err.statusCode).toBe(401);
		expect(err.body).toEqual({ detail: { status: 'invalid_api_key', message: 'Invalid API key' } });
		const res = await fetch(`${emulator.url}/v1/nope`, { headers: { 'xi-api-key': API_KEY } });
		expect(res.status).toBe(404);
		expect(await res.json()).toEqual({ detail: 'Not Found' });
		const big = await fetch(`${emulator.url}/v1/convai/conversations?page_size=101`, { headers: { 'xi-api-key': API_KEY } });
		expect(big.status).toBe(422);
	});
});

describe('emulator behaviour', () => {
	it('moves a call initiated → in-progress → processing → done and then sends signed webhooks', async () => {
		const [rec] = emulator.control.generateCalls(1, { agentId: 'agent_front', direction: 'inbound' });
		const seen: string[] = [];
		// Sampled often enough to see every stage on the way.
		await eventually(
			async () => {
				const c = await sdk.conversationalAi.conversations.get(rec.conversation_id);
				if (seen[seen.length - 1] !== c.status) seen.push(c.status);
				expect(c.status).toBe('done');
			},
			{ what: 'the call to reach done', timeoutMs: 15_000, intervalMs: 40 }
		);
		expect(seen).toEqual(['initiated', 'in-progress', 'processing', 'done']);
		await emulator.control.flushWebhooks();
		const mine = received.filter((r) => r.conversationId === rec.conversation_id);
		expect(mine.map((r) => r.type).sort()).toEqual(['post_call_audio', 'post_call_transcription']);
		for (const r of mine) {
			await expect(sdk.webhooks.constructEvent(r.body, r.signature, SECRET)).resolves.toBeTruthy();
			expect(verifyWebhookSignature({ rawBody: r.body, header: r.signature, secret: SECRET }).ok).toBe(true);
			expect(webhookEventSchema.safeParse(JSON.parse(r.body)).success).toBe(true);
		}
		const audio = mine.find((r) => r.type === 'post_call_audio')!;
		expect(audio.transferEncoding).toBe('chunked');
		expect(audio.contentLength).toBeUndefined();
		const transcription = JSON.parse(mine.find((r) => r.type === 'post_call_transcription')!.body);
		const detail = await (await fetch(`${emulator.url}/v1/convai/conversations/${rec.conversation_id}`, { headers: { 'xi-api-key': API_KEY } })).json();
		expect(transcription.data).toEqual(detail);
	});

	it('sends call_initiation_failure for failed outbound calls', async () => {
		const [rec] = emulator.control.generateCalls(1, { direction: 'outbound', outcome: 'no_answer', finalImmediately: true });
		await emulator.control.flushWebhooks();
		const hooks = received.filter((r) => r.conversationId === rec.conversation_id);
		expect(hooks.map((h) => h.type)).toEqual(['call_initiation_failure']);
		const event = await sdk.webhooks.constructEvent(hooks[0].body, hooks[0].signature, SECRET);
		expect(event.data.failure_reason).toBe('no-answer');
		expect(event.data.metadata.type).toBe('twilio');
		const c = await sdk.conversationalAi.conversations.get(rec.conversation_id);
		expect(c.status).toBe('failed');
		expect(c.metadata.phoneCall?.type === 'twilio' && c.metadata.phoneCall.callResult).toBe('no_answer');
	});

	it('duplicates and drops webhooks as configured', async () => {
		emulator.control.setFaults({ duplicateRate: 1 });
		const before = emulator.control.stats().webhooks;
		const dup = emulator.control.generateCalls(3, { direction: 'inbound', finalImmediately: true });
		await emulator.control.flushWebhooks();
		for (const c of dup) {
			const hooks = received.filter((r) => r.conversationId === c.conversation_id && r.type === 'post_call_transcription');
			expect(hooks).toHaveLength(2);
		}
		expect(emulator.control.stats().webhooks.duplicated - before.duplicated).toBe(6);

		emulator.control.setFaults({ duplicateRate: 0, dropRate: 1 });
		const dropped = emulator.control.generateCalls(2, { direction: 'inbound', finalImmediately: true });
		await emulator.control.flushWebhooks();
		expect(received.filter((r) => dropped.some((d) => d.conversation_id === r.conversationId))).toHaveLength(0);
		expect(emulator.control.stats().webhooks.dropped - before.dropped).toBe(4);
	});

	it('reorders webhooks (held back, sent after later ones)', async () => {
		emulator.control.setFaults({ reorderRate: 1 });
		const [a] = emulator.control.generateCalls(1, { direction: 'inbound', finalImmediately: true, sendWebhooks: true });
		emulator.control.setFaults({ reorderRate: 0 });
		const [b] = emulator.control.generateCalls(1, { direction: 'inbound', finalImmediately: true });
		await emulator.control.flushWebhooks();
		const order = received.filter((r) => r.type === 'post_call_transcription').map((r) => r.conversationId);
		expect(order.indexOf(b.conversation_id)).toBeGreaterThanOrEqual(0);
		expect(order.indexOf(a.conversation_id)).toBeGreaterThan(order.indexOf(b.conversation_id));
	});

	it('answers 429 with Retry-After, which the SDK retries', async () => {
		emulator.control.failNext(1, 429);
		const err = (await sdk.conversationalAi.conversations.list().catch((e: unknown) => e)) as ElevenLabsError;
		expect(err.statusCode).toBe(429);
		expect(err.body).toMatchObject({ detail: { status: 'too_many_concurrent_requests' } });

		const retrying = new ElevenLabsClient({ apiKey: API_KEY, baseUrl: emulator.url, maxRetries: 2 });
		emulator.control.failNext(1, 429);
		const before = emulator.control.stats();
		const page = await retrying.conversationalAi.conversations.list({ pageSize: 1 });
		expect(page.conversations).toHaveLength(1);
		const after = emulator.control.stats();
		expect(after.injected429 - before.injected429).toBe(1);
		expect(after.requests - before.requests).toBe(2);
	});

	it('applies random 429/500 rates', async () => {
		emulator.control.setFaults({ http429Rate: 0.5, retryAfterSecs: 0 });
		const statuses: number[] = [];
		for (let i = 0; i < 40; i++) {
			const res = await fetch(`${emulator.url}/v1/convai/agents`, { headers: { 'xi-api-key': API_KEY } });
			statuses.push(res.status);
			if (res.status === 429) expect(res.headers.get('retry-after')).toBe('0');
			await res.arrayBuffer();
		}
		expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(5);
		expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(5);
		emulator.control.setFaults({ http429Rate: 0, http500Rate: 1 });
		const res = await fetch(`${emulator.url}/v1/convai/agents`, { headers: { 'xi-api-key': API_KEY } });
		expect(res.status).toBe(500);
	});

	it('is deterministic for a seed and exposes an HTTP control API', async () => {
		const a = await startElevenLabsEmulator({ seed: 99 });
		const b = await startElevenLabsEmulator({ seed: 99 });
		try {
			const ca = a.control.generateCalls(20, { startTimeUnix: 1_700_000_000, finalImmediately: true });
			const cb = b.control.generateCalls(20, { startTimeUnix: 1_700_000_000, finalImmediately: true });
			expect(ca.map((c) => c.detail)).toEqual(cb.map((c) => c.detail));

			const res = await fetch(`${a.url}/_emulator/calls`, { method: 'POST', body: JSON.stringify({ count: 3, finalImmediately: true }) });
			expect((await res.json()).conversations).toHaveLength(3);
			await fetch(`${a.url}/_emulator/faults`, { method: 'POST', body: JSON.stringify({ http500Rate: 1 }) });
			expect((await fetch(`${a.url}/v1/convai/agents`, { headers: { 'xi-api-key': 'test-api-key' } })).status).toBe(500);
			const stats = await (await fetch(`${a.url}/_emulator/stats`)).json();
			expect(stats.conversations).toBe(23);
			expect(stats.injected500).toBe(1);
		} finally {
			await a.close();
			await b.close();
		}
	});
});
