import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';
import { verifyWebhookSignature } from '../../../src/lib/server/elevenlabs/signature';

// The references measured beside VoxCalls in the same run, each in its own process (forked by the benchmark) so it
// gets a whole event loop like the app does:
//   ceiling: bare node:http that reads the body, verifies the signature and answers 200: nothing durable, the
//            most this machine can answer with the same load generator;
//   naive:   the same plus one INSERT (its own commit) per request before answering: what "write it, then say
//            200" costs without group commit;
// Configured by env: BENCH_REFERENCE (ceiling|naive), BENCH_SECRET, BENCH_DATABASE_URL, BENCH_NAIVE_POOL.

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
	if (kind !== 'ceiling' && kind !== 'naive') throw new Error('BENCH_REFERENCE must be ceiling or naive');
	const sql = kind === 'naive' ? postgres(process.env.BENCH_DATABASE_URL!, { max: Number(process.env.BENCH_NAIVE_POOL ?? 10), onnotice: () => {} }) : null;

	const handle = async (req: IncomingMessage, res: ServerResponse) => {
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
			void Promise.allSettled([sql?.end({ timeout: 2 })]).then(() => process.exit(0))
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
