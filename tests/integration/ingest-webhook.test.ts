import { readFile, mkdtemp } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversation, elevenlabsConnection, webhookInbox } from '../../src/lib/server/db/schema/index';
import { signWebhookBody } from '../../src/lib/server/elevenlabs/signature';
import { createFileAudioStore } from '../../src/lib/server/ingest/audio-store';
import { InboxWriter } from '../../src/lib/server/ingest/inbox-writer';
import { isPostgresUnavailable, QueryTimeoutError } from '../../src/lib/server/outage';
import { receiveElevenLabsWebhook, webStreamBody, type WebhookIntake } from '../../src/lib/server/ingest/intake';
import { POST } from '../../src/routes/api/webhooks/elevenlabs/[connection]/+server';
import { createTestConnection, factoryActor, settleInbox, signedWebhookEvent, transcriptionEvent, uniqueId } from '../factories/ingest';
import { followWebhookConnectionChanges, resolveWebhookConnection } from '../../src/lib/server/ingest/connections';
import { updateConnection } from '../../src/lib/server/services/connections/index';
import { createTestTenant } from '../factories/tenant';
import { startWebhookRouteServer } from '../factories/webhook-server';
import { eventually } from '../setup/eventually';
import { connectTestStores } from '../setup/stores';

// Every case runs twice: through the SvelteKit route handler (what `vite dev` serves) and over real HTTP through
// the production web server's node:http webhook path (web-server.ts), against the test PostgreSQL.
const stores = connectTestStores();
let audioDir: string;
let nodeServer: Awaited<ReturnType<typeof startWebhookRouteServer>>;
beforeAll(async () => {
	audioDir = await mkdtemp(join(tmpdir(), 'voxcalls-audio-'));
	process.env.AUDIO_STORAGE_DIR = audioDir;
	nodeServer = await startWebhookRouteServer();
});
afterAll(async () => {
	await nodeServer?.close();
	await stores.close();
});

type Event = ReturnType<typeof signedWebhookEvent>;
type Answer = { status: number; body: Record<string, unknown> };
const postToRoute = async (e: Event): Promise<Answer> => {
	const res = await POST(e as unknown as Parameters<typeof POST>[0]);
	return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
/** The same delivery as raw HTTP (headers exactly as given, body streamed as the event's chunks, if chunked). */
const postOverHttp = async (e: Event): Promise<Answer> => {
	const headers: Record<string, string> = {};
	e.request.headers.forEach((v, k) => (headers[k] = v));
	return new Promise<Answer>((resolve, reject) => {
		const req = httpRequest(`${nodeServer.url}${new URL(e.request.url).pathname}`, { method: 'POST', headers, agent: false }, (res) => {
			const chunks: Buffer[] = [];
			res.on('data', (c: Buffer) => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
		});
		// The server may answer (413, 401) and close before the whole body is written.
		req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
		void (async () => {
			if (e.request.body) for await (const chunk of e.request.body as unknown as AsyncIterable<Uint8Array>) if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
			req.end();
		})().catch(() => req.end());
	});
};

const inboxRows = (connectionId: string) => stores.db.db.select().from(webhookInbox).where(eq(webhookInbox.connectionId, connectionId));

async function setup() {
	const t = await createTestTenant(stores.db.db);
	const conn = await createTestConnection(stores.db.db, { tenantId: t.id });
	return { t, conn };
}

describe.each([
	['SvelteKit route', postToRoute],
	['node:http (production web server)', postOverHttp]
])('POST /api/webhooks/elevenlabs/[connection] via %s', (_transport, post) => {
	it('accepts a signed delivery with 200 once it is in the inbox', async () => {
		const { conn } = await setup();
		const body = JSON.stringify(transcriptionEvent({ conversationId: uniqueId('conv'), agentId: uniqueId('agent') }));
		const res = await post(signedWebhookEvent(conn.id, body, { secret: conn.webhookSecret }));
		expect(res).toEqual({ status: 200, body: { received: true, duplicate: false } });
		const rows = await inboxRows(conn.id);
		expect(rows).toHaveLength(1);
		// Pending until a processor (maybe the worker of a parallel test file) claims it.
		expect(rows[0]).toMatchObject({ eventType: 'post_call_transcription', body });
	});

	it('refuses bad signatures with 401 and stores nothing', async () => {
		const { conn } = await setup();
		const body = JSON.stringify(transcriptionEvent({ conversationId: uniqueId('conv'), agentId: uniqueId('agent') }));
		const now = Math.floor(Date.now() / 1000);
		const cases: Array<[string, Event]> = [
			['wrong secret', signedWebhookEvent(conn.id, body, { secret: 'not-the-secret' })],
			['tampered body', signedWebhookEvent(conn.id, body, { secret: conn.webhookSecret, header: signWebhookBody(body.replace('Booked', 'Bookex'), conn.webhookSecret) })],
			['31 minutes old', signedWebhookEvent(conn.id, body, { secret: conn.webhookSecret, timestampSecs: now - 31 * 60 })],
			['missing header', signedWebhookEvent(conn.id, body, { secret: conn.webhookSecret, header: null })],
			['no v0', signedWebhookEvent(conn.id, body, { secret: conn.webhookSecret, header: `t=${now}` })],
			['no t', signedWebhookEvent(conn.id, body, { secret: conn.webhookSecret, header: `v0=${'a'.repeat(64)}` })],
			['garbage', signedWebhookEvent(conn.id, body, { secret: conn.webhookSecret, header: 'garbage' })],
			['short digest', signedWebhookEvent(conn.id, body, { secret: conn.webhookSecret, header: `t=${now},v0=abc` })],
			['upper-case digest', signedWebhookEvent(conn.id, body, { secret: conn.webhookSecret, header: signWebhookBody(body, conn.webhookSecret).toUpperCase().replace('T=', 't=').replace('V0=', 'v0=') })]
		];
		for (const [name, e] of cases) expect((await post(e)).status, name).toBe(401);
		// A malformed body that is also unsigned is refused for the signature first.
		expect((await post(signedWebhookEvent(conn.id, '{nope', { secret: 'wrong' }))).status).toBe(401);
		expect(await inboxRows(conn.id)).toHaveLength(0);
	});

	it('accepts a timestamp 29 minutes old and one from the future (upstream has no upper bound)', async () => {
		const { conn } = await setup();
		const now = Math.floor(Date.now() / 1000);
		for (const ts of [now - 29 * 60, now + 3600]) {
			const body = JSON.stringify(transcriptionEvent({ conversationId: uniqueId('conv'), agentId: uniqueId('agent') }));
			expect((await post(signedWebhookEvent(conn.id, body, { secret: conn.webhookSecret, timestampSecs: ts }))).status).toBe(200);
		}
	});

	it('answers 400 for signed malformed JSON, 413 for oversized bodies, 404 for unknown connections', async () => {
		const { conn } = await setup();
		for (const bad of ['{"type":', '[1,2]', '"x"', '{"data":{}}']) {
			expect((await post(signedWebhookEvent(conn.id, bad, { secret: conn.webhookSecret }))).status, bad).toBe(400);
		}
		// Over WEBHOOK_MAX_BYTES (1 MiB in tests) and not an audio event.
		const big = JSON.stringify({ ...transcriptionEvent({ conversationId: uniqueId('conv'), agentId: 'a' }), pad: 'x'.repeat(1_200_000) });
		expect((await post(signedWebhookEvent(conn.id, big, { secret: conn.webhookSecret, chunked: true }))).status).toBe(413);
		// Declared larger than even the audio limit: refused before reading.
		const e = signedWebhookEvent(conn.id, '{}', { secret: conn.webhookSecret });
		e.request.headers.set('content-length', String(60 * 1024 * 1024));
		expect((await post(e)).status).toBe(413);
		expect(await inboxRows(conn.id)).toHaveLength(0);
		const unknown = signedWebhookEvent('6d1a1c4e-8b0f-4b7e-9a57-1c2b3d4e5f60', '{}', { secret: 'x' });
		expect((await post(unknown)).status).toBe(404);
		expect((await post(signedWebhookEvent('not-a-uuid', '{}', { secret: 'x' }))).status).toBe(404);
	});

	it('answers a duplicate with 200 and no second effect', async () => {
		const { conn } = await setup();
		const conversationId = uniqueId('conv');
		const body = JSON.stringify(transcriptionEvent({ conversationId, agentId: uniqueId('agent') }));
		const first = await post(signedWebhookEvent(conn.id, body, { secret: conn.webhookSecret }));
		// Upstream re-signs a re-sent delivery; the body is the same bytes.
		const again = await Promise.all([1, 2, 3].map(() => post(signedWebhookEvent(conn.id, body, { secret: conn.webhookSecret, timestampSecs: Math.floor(Date.now() / 1000) + 1 }))));
		expect(first.body.duplicate).toBe(false);
		for (const r of again) expect(r).toEqual({ status: 200, body: { received: true, duplicate: true } });
		expect(await inboxRows(conn.id)).toHaveLength(1);
		await settleInbox(stores.db, conn.id);
		const rows = await stores.db.db.select().from(conversation).where(eq(conversation.conversationId, conversationId));
		expect(rows).toHaveLength(1);
		expect(rows[0].version).toBe(1);
	});

	it('streams a large post_call_audio body to storage and keeps only the envelope in the inbox', async () => {
		const { conn } = await setup();
		const conversationId = uniqueId('conv');
		const agentId = uniqueId('agent');
		const mp3 = randomBytes(2 * 1024 * 1024);
		const body = JSON.stringify({ type: 'post_call_audio', event_timestamp: Math.floor(Date.now() / 1000), data: { agent_id: agentId, conversation_id: conversationId, full_audio: mp3.toString('base64') } });
		const res = await post(signedWebhookEvent(conn.id, body, { secret: conn.webhookSecret, chunked: true }));
		expect(res.status).toBe(200);
		const [row] = await inboxRows(conn.id);
		expect(row.audioKey).toBeTruthy();
		expect(row.body.length).toBeLessThan(500);
		expect((await readFile(join(audioDir, row.audioKey!))).equals(mp3)).toBe(true);
		// A tampered big body is refused and leaves no file behind.
		const tampered = signedWebhookEvent(conn.id, body, { secret: conn.webhookSecret, chunked: true, header: signWebhookBody(body + ' ', conn.webhookSecret) });
		expect((await post(tampered)).status).toBe(401);
	});

	it('never deadlocks when concurrent batches carry the same deliveries in opposite orders', async () => {
		const { conn } = await setup();
		// Two writers (two web processes, say) each group-commit the same re-sent deliveries at once.
		const writers = [new InboxWriter(stores.db.sql), new InboxWriter(stores.db.sql)];
		const row = (i: number, round: number) => ({
			connectionId: conn.id,
			eventType: 'post_call_transcription',
			conversationId: `conv_${round}_${i}`,
			agentId: 'agent_dup',
			eventTimestamp: null,
			dedupKey: `${round}`.padStart(4, '0') + `${i}`.padStart(60, '0'),
			body: '{}',
			audioKey: null
		});
		for (let round = 0; round < 15; round++) {
			const rows = Array.from({ length: 40 }, (_, i) => row(i, round));
			const results = await Promise.allSettled([...rows.map((r) => writers[0].write(r)), ...[...rows].reverse().map((r) => writers[1].write(r))]);
			const failed = results.filter((r) => r.status === 'rejected');
			expect(failed.map((f) => String((f as PromiseRejectedResult).reason)), `round ${round}`).toEqual([]);
			// Each delivery is stored once; the other writer's copy is answered as a duplicate.
			expect(results.filter((r) => r.status === 'fulfilled' && !r.value.duplicate)).toHaveLength(40);
		}
		expect(await inboxRows(conn.id)).toHaveLength(15 * 40);
	});

	it('answers a batch whose INSERT hangs as failed (a 503 upstream retries) and keeps writing the next ones', async () => {
		const { conn } = await setup();
		const writer = new InboxWriter(stores.db.sql, { writeTimeoutMs: 500 });
		const row = (dedupKey: string) => ({
			connectionId: conn.id,
			eventType: 'post_call_transcription',
			conversationId: uniqueId('conv'),
			agentId: 'agent_hang',
			eventTimestamp: null,
			dedupKey,
			body: '{}',
			audioKey: null
		});
		const stuck = row(randomBytes(32).toString('hex'));
		// Another transaction holds the same key uncommitted, so the writer's INSERT waits on it: a query that does not
		// settle, as one on a killed backend may not.
		const blocker = await stores.db.sql.reserve();
		try {
			await blocker`begin`;
			await blocker`insert into webhook_inbox (connection_id, event_type, dedup_key, body) values (${conn.id}, 'post_call_transcription', ${stuck.dedupKey}, '{}')`;
			const failure = await writer.write(stuck).then(
				() => null,
				(err: unknown) => err
			);
			expect(failure).toBeInstanceOf(QueryTimeoutError);
			expect(isPostgresUnavailable(failure)).toBe(true);
			// The writer is not held by the hung INSERT: the next delivery is stored at once.
			expect(await writer.write(row(randomBytes(32).toString('hex')))).toMatchObject({ duplicate: false });
			await blocker`rollback`;
		} finally {
			blocker.release();
		}
		// The hung INSERT commits once the blocker is gone; upstream's re-sent delivery meets it as a duplicate.
		await eventually(async () => expect((await inboxRows(conn.id)).filter((r) => r.dedupKey === stuck.dedupKey)).toHaveLength(1), { what: 'the hung INSERT to commit' });
		expect(await writer.write(stuck)).toEqual({ id: null, duplicate: true });
		expect((await inboxRows(conn.id)).filter((r) => r.dedupKey === stuck.dedupKey)).toHaveLength(1);
	});

	it('wakes the processor at once after a quiet spell, and once per interval (never not at all) under a stream', async () => {
		const { conn } = await setup();
		const writer = new InboxWriter(stores.db.sql);
		const row = () => ({
			connectionId: conn.id,
			eventType: 'post_call_transcription',
			conversationId: uniqueId('conv'),
			agentId: 'agent_wake',
			eventTimestamp: null,
			dedupKey: randomBytes(32).toString('hex'),
			body: '{}',
			audioKey: null
		});
		await writer.write(row());
		expect(writer.stats.notifies).toBe(1);
		// 30 commits back to back: the first wakes at once (done above), the rest share interval wake-ups.
		for (let i = 0; i < 30; i++) await writer.write(row());
		expect(writer.stats.batches).toBe(31);
		// The stream's last commits are announced too, at the end of the interval.
		await eventually(() => expect(writer.stats.notifies).toBeGreaterThanOrEqual(2), { what: 'the trailing NOTIFY' });
		expect(writer.stats.notifies).toBeLessThan(writer.stats.batches);
		// After a quiet spell (the scenario's input, longer than the NOTIFY interval), a lone delivery wakes the
		// processor at once again.
		await new Promise((r) => setTimeout(r, 200));
		const before = writer.stats.notifies;
		await writer.write(row());
		expect(writer.stats.notifies).toBe(before + 1);
	});

	it('group-commits concurrent deliveries through the intake service', async () => {
		const { conn } = await setup();
		const writer = new InboxWriter(stores.db.sql, { maxConcurrentFlushes: 1 });
		const intake: WebhookIntake = {
			db: stores.db.db,
			writer,
			audio: createFileAudioStore(audioDir),
			limits: { maxBytes: 64 * 1024, audioMaxBytes: 1024 * 1024 },
			errors: null
		};
		const bodies = Array.from({ length: 200 }, () => JSON.stringify(transcriptionEvent({ conversationId: uniqueId('conv'), agentId: 'agent_bulk' })));
		const results = await Promise.all(
			bodies.map((b) => {
				const e = signedWebhookEvent(conn.id, b, { secret: conn.webhookSecret });
				return receiveElevenLabsWebhook({ ctx: intake, input: { connectionId: conn.id, signatureHeader: e.request.headers.get('elevenlabs-signature'), contentLength: b.length, body: e.request.body ? webStreamBody(e.request.body) : null } });
			})
		);
		expect(results.every((r) => r.status === 200)).toBe(true);
		expect(writer.stats.rows).toBe(200);
		expect(writer.stats.batches).toBeLessThan(200);
		expect(await inboxRows(conn.id)).toHaveLength(200);
	});
});

describe('webhook secrets cached in several web processes', () => {
	it('announces every committed connection change to the other processes', async () => {
		const conn = await createTestConnection(stores.db.db);
		const seen: string[] = [];
		const stop = await followWebhookConnectionChanges(stores.db.sql, (id) => seen.push(id));
		try {
			await updateConnection({ ctx: { db: stores.db.db, actor: factoryActor }, input: { connectionId: conn.id, enabled: false } });
			await eventually(() => expect(seen).toContain(conn.id), { what: 'the change notice' });
		} finally {
			await stop();
		}
	});

	it('evicts a cached secret when another process announces a change, so its webhooks answer to the new one at once', async () => {
		const conn = await createTestConnection(stores.db.db);
		const seen: string[] = [];
		const stop = await followWebhookConnectionChanges(stores.db.sql, (id) => seen.push(id));
		try {
			expect((await resolveWebhookConnection(stores.db.db, conn.id))?.enabled).toBe(true);
			// Another process disables it: the row changes and the notice arrives, but this process's service never ran.
			await stores.db.db.update(elevenlabsConnection).set({ enabled: false }).where(eq(elevenlabsConnection.id, conn.id));
			expect((await resolveWebhookConnection(stores.db.db, conn.id))?.enabled).toBe(true); // still cached
			await stores.db.sql`select pg_notify('elevenlabs_connection_changed', ${conn.id})`;
			await eventually(() => expect(seen).toContain(conn.id), { what: 'the change notice' });
			expect((await resolveWebhookConnection(stores.db.db, conn.id))?.enabled).toBe(false);
		} finally {
			await stop();
		}
	});
});
