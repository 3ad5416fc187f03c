import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createElevenLabsClient, parseRetryAfter, UpstreamError, type ElevenLabsClient } from '../../src/lib/server/elevenlabs/client';
import { startElevenLabsEmulator, type ElevenLabsEmulator } from '../../src/emulators/elevenlabs/server';

const API_KEY = 'client-test-key';
const T0 = 1_750_000_000;
const COUNT = 260;
const SPACING = 60;

let emulator: ElevenLabsEmulator;
let client: ElevenLabsClient;

beforeAll(async () => {
	emulator = await startElevenLabsEmulator({ apiKey: API_KEY, seed: 42, retryAfterSecs: 0 });
	emulator.control.generateCalls(COUNT, { startTimeUnix: T0, spacingSecs: SPACING, finalImmediately: true, sendWebhooks: false });
	client = createElevenLabsClient({ baseUrl: emulator.url, apiKey: API_KEY, retryBaseMs: 5, retryMaxMs: 1000 });
});

afterAll(async () => {
	await client?.close();
	await emulator?.close();
});

beforeEach(() => {
	emulator.control.setFaults({ http429Rate: 0, http500Rate: 0, slowMs: 0, retryAfterSecs: 0 });
});

describe('elevenlabs client', () => {
	it('paginates over more than 250 conversations, newest first, without duplicates', async () => {
		const before = client.stats.requests;
		const ids: string[] = [];
		let prevStart = Infinity;
		for await (const c of client.iterateConversations({ pageSize: 100 })) {
			ids.push(c.conversation_id);
			expect(c.start_time_unix_secs).toBeLessThanOrEqual(prevStart);
			prevStart = c.start_time_unix_secs;
		}
		expect(ids).toHaveLength(COUNT);
		expect(new Set(ids).size).toBe(COUNT);
		expect(client.stats.requests - before).toBe(3);
	});

	it('filters by call_start_after_unix / before and agent', async () => {
		const after = T0 + 100 * SPACING;
		const seen: number[] = [];
		for await (const c of client.iterateConversations({ callStartAfterUnix: after, pageSize: 50 })) seen.push(c.start_time_unix_secs);
		// Bounds are exclusive: calls 101..259 start after call 100.
		expect(seen).toHaveLength(COUNT - 101);
		expect(Math.min(...seen)).toBeGreaterThan(after);

		const windowed: number[] = [];
		for await (const c of client.iterateConversations({ callStartAfterUnix: after, callStartBeforeUnix: after + 10 * SPACING })) windowed.push(c.start_time_unix_secs);
		expect(windowed).toHaveLength(9);

		const agentId = [...emulator.state.agents.keys()][0];
		const mine = [];
		for await (const c of client.iterateConversations({ agentId })) mine.push(c);
		expect(mine.length).toBeGreaterThan(0);
		expect(mine.every((c) => c.agent_id === agentId)).toBe(true);
		expect(mine.length).toBe([...emulator.state.conversations.values()].filter((c) => c.agent_id === agentId).length);
	});

	it('gets a conversation with the fields we rely on and keeps unknown ones', async () => {
		const id = emulator.state.ordered[0].conversation_id;
		const { conversation, raw } = await client.getConversation(id);
		expect(conversation.conversation_id).toBe(id);
		expect(typeof conversation.metadata.start_time_unix_secs).toBe('number');
		expect((raw as Record<string, unknown>).has_auxiliary_audio).toBe(false);
		// Loose schemas keep unknown keys on the parsed object too.
		expect((conversation as Record<string, unknown>).has_auxiliary_audio).toBe(false);
		expect((conversation.metadata as Record<string, unknown>).deletion_settings).toBeTypeOf('object');
		const vars = conversation.conversation_initiation_client_data?.dynamic_variables ?? {};
		expect(vars.system__conversation_id).toBe(id);
	});

	it('retries 429 honouring Retry-After, and 500, counting every request', async () => {
		emulator.control.setFaults({ retryAfterSecs: 0.3 });
		emulator.control.failNext(1, 429);
		const before = client.stats.requests;
		const started = Date.now();
		const page = await client.listConversations({ pageSize: 5 });
		expect(Date.now() - started).toBeGreaterThanOrEqual(280);
		expect(page.page.conversations).toHaveLength(5);
		expect(client.stats.requests - before).toBe(2);

		emulator.control.failNext(3, 500);
		const before2 = client.stats.requests;
		await client.listConversations({ pageSize: 5 });
		expect(client.stats.requests - before2).toBe(4);
	});

	it('gives up after maxRetries', async () => {
		const c = createElevenLabsClient({ baseUrl: emulator.url, apiKey: API_KEY, maxRetries: 2, retryBaseMs: 1 });
		emulator.control.failNext(3, 500);
		const err = await c.listConversations().catch((e: unknown) => e);
		expect(err).toBeInstanceOf(UpstreamError);
		expect((err as UpstreamError).status).toBe(500);
		expect(c.stats.requests).toBe(3);
		await c.close();
	});

	it('does not retry a 404 or a 401', async () => {
		const before = client.stats.requests;
		const err = await client.getConversation('conv_missing').catch((e: unknown) => e);
		expect(err).toBeInstanceOf(UpstreamError);
		expect((err as UpstreamError).status).toBe(404);
		expect((err as UpstreamError).bodySnippet).toContain('conversation_not_found');
		expect(client.stats.requests - before).toBe(1);

		const bad = createElevenLabsClient({ baseUrl: emulator.url, apiKey: 'wrong' });
		const err401 = await bad.listAgents().catch((e: unknown) => e);
		expect((err401 as UpstreamError).status).toBe(401);
		expect(bad.stats.requests).toBe(1);
		await bad.close();
	});

	it('respects the concurrency cap', async () => {
		const capped = createElevenLabsClient({ baseUrl: emulator.url, apiKey: API_KEY, maxConcurrency: 2 });
		emulator.control.setFaults({ slowMs: 40 });
		emulator.control.resetStats();
		const ids = emulator.state.ordered.slice(0, 10).map((c) => c.conversation_id);
		await Promise.all(ids.map((id) => capped.getConversation(id)));
		expect(capped.stats.maxInFlight).toBe(2);
		expect(emulator.control.stats().maxConcurrentRequests).toBeLessThanOrEqual(2);
		expect(capped.stats.requests).toBe(10);
		await capped.close();
	});

	it('streams audio without buffering it in the client', async () => {
		const rec = [...emulator.state.conversations.values()].find((c) => c.status === 'done' && c.call_duration_secs > 0)!;
		const { stream, contentType } = await client.streamConversationAudio(rec.conversation_id);
		expect(contentType).toBe('audio/mpeg');
		const chunks: Buffer[] = [];
		for await (const chunk of stream) chunks.push(chunk as Buffer);
		const audio = Buffer.concat(chunks);
		expect(audio.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xfb]));
		expect(audio.equals(emulator.state.audioFor(rec))).toBe(true);
	});

	it('lists agents', async () => {
		const { agents } = await client.listAgents();
		expect(agents.map((a) => a.agent_id).sort()).toEqual([...emulator.state.agents.keys()].sort());
	});

	it('parses Retry-After as seconds or an HTTP date', () => {
		expect(parseRetryAfter('2')).toBe(2000);
		expect(parseRetryAfter('0.5')).toBe(500);
		expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
		expect(parseRetryAfter(undefined)).toBeNull();
		expect(parseRetryAfter('soon')).toBeNull();
	});
});
