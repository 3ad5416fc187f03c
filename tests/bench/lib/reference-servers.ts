import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { createDb } from '../../../src/lib/server/db/client';
import { verifyWebhookSignature } from '../../../src/lib/server/elevenlabs/signature';
import { createFileAudioStore } from '../../../src/lib/server/ingest/audio-store';
import { InboxWriter } from '../../../src/lib/server/ingest/inbox-writer';
import { receiveElevenLabsWebhook, type WebhookIntake } from '../../../src/lib/server/ingest/intake';
import { nodeRequestBody } from '../../../src/lib/server/ingest/webhook-http';

// The references measured beside VoxCalls in the same run, each in its own process (forked by the benchmark) so it
// gets a whole event loop like the app does:
//   ceiling: bare node:http that reads the body, verifies the signature and answers 200: nothing durable, the
//            most this machine can answer with the same load generator;
//   naive:   the same plus one INSERT (its own commit) per request before answering: what "write it, then say
//            200" costs without group commit;
//   intake:  (diagnostic) the product's own intake service and group-committed inbox writer behind bare
//            node:http instead of SvelteKit: the difference to VoxCalls is what the framework's request pipeline costs.
// Configured by env: BENCH_REFERENCE (ceiling|naive|intake), BENCH_SECRET, BENCH_DATABASE_URL, BENCH_NAIVE_POOL.

export const NAIVE_TABLE = 'bench_naive_webhook';

/** The naive endpoint's scratch table: the inbox's shape, with the same unique dedup key. */
export const NAIVE_TABLE_DDL = `
	create table if not exists ${NAIVE_TABLE} (
		id bigserial primary key,
		conversation_id text,
		dedup_key text not null unique,
		body text not null,
		received_at timestamptz not null default now()
	)`;

function readBody(req: IncomingMessage): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
		req.on('error', reject);
	});
}

function answer(res: ServerResponse, status: number, body: string) {
	res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
	res.end(body);
}

async function main() {
	const kind = process.env.BENCH_REFERENCE;
	const secret = process.env.BENCH_SECRET ?? '';
	if (kind !== 'ceiling' && kind !== 'naive' && kind !== 'intake') throw new Error('BENCH_REFERENCE must be ceiling, naive or intake');
	const sql = kind === 'naive' ? postgres(process.env.BENCH_DATABASE_URL!, { max: Number(process.env.BENCH_NAIVE_POOL ?? 10), onnotice: () => {} }) : null;
	const audioDir = kind === 'intake' ? mkdtempSync(join(tmpdir(), 'voxcalls-bench-intake-')) : null;
	// The same construction as getWebhookIntake(), minus SvelteKit: the app's pool size and default writer options.
	const intakeDb = kind === 'intake' ? createDb(process.env.BENCH_DATABASE_URL!, { max: 20 }) : null;
	const intake: WebhookIntake | null = intakeDb
		? { db: intakeDb.db, writer: new InboxWriter(intakeDb.sql), audio: createFileAudioStore(audioDir!), limits: { maxBytes: 1_048_576, audioMaxBytes: 50 * 1_048_576 }, errors: null }
		: null;

	const handle = async (req: IncomingMessage, res: ServerResponse) => {
		if (intake) {
			const length = req.headers['content-length'];
			const r = await receiveElevenLabsWebhook({
				ctx: intake,
				input: {
					connectionId: (req.url ?? '').split('/').pop() ?? '',
					signatureHeader: (req.headers['elevenlabs-signature'] as string | undefined) ?? null,
					contentLength: length !== undefined && /^\d+$/.test(length) ? Number(length) : null,
					body: nodeRequestBody(req)
				}
			});
			return answer(res, r.status, JSON.stringify(r.status === 200 ? { received: true, duplicate: r.duplicate } : { error: r.error }));
		}
		const raw = await readBody(req);
		const verdict = verifyWebhookSignature({ rawBody: raw, header: req.headers['elevenlabs-signature'] as string | undefined, secret });
		if (!verdict.ok) return answer(res, 401, '{"error":"invalid signature"}');
		if (sql) {
			const text = raw.toString('utf8');
			const event = JSON.parse(text) as { data?: { conversation_id?: string } };
			await sql`insert into ${sql(NAIVE_TABLE)} (conversation_id, dedup_key, body)
				values (${event.data?.conversation_id ?? null}, ${createHash('sha256').update(raw).digest('hex')}, ${text})
				on conflict (dedup_key) do nothing`;
		}
		answer(res, 200, '{"received":true,"duplicate":false}');
	};

	const server = createServer((req, res) => {
		handle(req, res).catch((err: unknown) => {
			console.error(`[${kind}]`, err);
			if (!res.headersSent) answer(res, 503, '{"error":"temporarily unavailable"}');
		});
	});
	server.keepAliveTimeout = 65_000;
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	process.send?.({ type: 'listening', port: (server.address() as AddressInfo).port });

	const stop = () => {
		server.closeAllConnections();
		server.close(() =>
			void Promise.allSettled([sql?.end({ timeout: 2 }), intakeDb?.close()]).then(() => {
				if (audioDir) rmSync(audioDir, { recursive: true, force: true });
				process.exit(0);
			})
		);
	};
	process.once('SIGTERM', stop);
	process.once('SIGINT', stop);
}

// Runs only as the forked reference process; importing this module (for the table name) starts nothing.
if (process.send && process.env.BENCH_REFERENCE) {
	main().catch((err: unknown) => {
		console.error('[reference server]', err);
		process.exit(1);
	});
}
