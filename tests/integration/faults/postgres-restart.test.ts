import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startElevenLabsEmulator, type ElevenLabsEmulator } from '../../../src/emulators/elevenlabs/server';
import { queryRows } from '../../../src/lib/server/analytics/client';
import { sql as chSql } from '../../../src/lib/server/analytics/literal';
import { queryTenantCallRollupTotals } from '../../../src/lib/server/analytics/queries/calls/tenant-call-rollup-totals';
import { queryTenantCallTotals } from '../../../src/lib/server/analytics/queries/calls/tenant-call-totals';
import { conversation, outbox, webhookInbox } from '../../../src/lib/server/db/schema/index';
import { signWebhookBody } from '../../../src/lib/server/elevenlabs/signature';
import { createTestConnection, transcriptionEvent, uniqueId } from '../../factories/ingest';
import { createTestTenant } from '../../factories/tenant';
import { connectTestStores } from '../../setup/stores';
import { testEnv } from '../../setup/test-env';

// PostgreSQL restarted and its connections cut under webhook load, all for real: the production web server (two
// processes) and the worker run as child processes while signed webhooks keep arriving on loopback, and the test
// (a) restarts PostgreSQL in fast mode (down a few seconds), (b) restarts it in immediate mode (crash recovery),
// (c) terminates every backend. Afterwards no product process has exited; every webhook answered 200 is in
// PostgreSQL once and in ClickHouse once; webhooks answered 503 and sent again are applied once; PostgreSQL,
// `call_events FINAL` and the rollup agree exactly; /healthz said PostgreSQL was down and then recovered; and the
// outage cost fewer than 50 log lines, none of them a stack.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const exec = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SENDERS = 8;
const API_KEY = 'pg-restart-api-key';
// The fault needs the project-local server this script controls, not a server given by URL.
const localStores = !process.env.TEST_DATABASE_URL;

const stores = connectTestStores();
let t0 = Date.now();
const note = (line: string) => console.log(`[pg-restart ${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);

interface Child {
	name: string;
	proc: ChildProcess;
	/** stderr lines (the product's log), with the time each arrived. */
	lines: { at: number; text: string }[];
}
const children: Child[] = [];
let emulator: ElevenLabsEmulator | undefined;
let baseUrl = '';
let postgresMayBeDown = false;

function freePort(): Promise<number> {
	return new Promise((res, rej) => {
		const s = createServer();
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address() as { port: number };
			s.close(() => res(port));
		});
		s.on('error', rej);
	});
}

function spawnChild(name: string, script: string, env: NodeJS.ProcessEnv): Child {
	const proc = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
	const child: Child = { name, proc, lines: [] };
	let rest = '';
	proc.stderr!.setEncoding('utf8');
	proc.stderr!.on('data', (chunk: string) => {
		const parts = (rest + chunk).split('\n');
		rest = parts.pop() ?? '';
		for (const text of parts) if (text.trim()) child.lines.push({ at: Date.now(), text });
	});
	children.push(child);
	return child;
}

/** Retries a test-side query across the faults (the test's own pooled connections are cut too). */
async function retrying<T>(fn: () => Promise<T>, ms = 60_000): Promise<T> {
	const end = Date.now() + ms;
	for (;;) {
		try {
			return await fn();
		} catch (err) {
			if (Date.now() > end) throw err;
			await sleep(250);
		}
	}
}

/** Fails at once, with its last log lines, if a product process has exited. */
function assertChildrenAlive() {
	for (const c of children) {
		if (c.proc.exitCode !== null || c.proc.signalCode !== null) {
			const last = c.lines.slice(-30).map((l) => l.text).join('\n');
			throw new Error(`${c.name} exited (${c.proc.exitCode ?? c.proc.signalCode}); its last lines:\n${last}`);
		}
	}
}

async function until(what: string, ms: number, fn: () => Promise<boolean>) {
	const end = Date.now() + ms;
	while (Date.now() < end) {
		assertChildrenAlive();
		if (await fn().catch(() => false)) return;
		await sleep(250);
	}
	throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
	if (!localStores) return;
	if (process.env.E2E_SKIP_BUILD !== '1' || !existsSync(resolve(root, 'build/handler.js'))) {
		execFileSync('npx', ['vite', 'build', '--logLevel', 'error'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
	}
});

afterAll(async () => {
	for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGTERM');
	await Promise.all(children.map((c) => (c.proc.exitCode !== null || c.proc.signalCode !== null ? null : new Promise((r) => c.proc.once('exit', r)))));
	if (postgresMayBeDown) await exec('bash', ['scripts/stores.sh', 'up'], { cwd: root }).catch(() => {});
	await emulator?.close();
	await stores.close();
});

it.skipIf(!localStores)('stays up and loses nothing through PostgreSQL restarts (fast, immediate) and terminated backends', { timeout: 540_000 }, async () => {
	t0 = Date.now();
	const tenant = await createTestTenant(stores.db.db);
	// An upstream that answers (empty), so the worker's scheduled sync of this connection succeeds quietly.
	emulator = await startElevenLabsEmulator({ apiKey: API_KEY, agents: [] });
	const conn = await createTestConnection(stores.db.db, { tenantId: tenant.id, baseUrl: emulator.url, apiKey: API_KEY });
	// Fault tests run alone: park the connections earlier files left behind (their upstreams are gone).
	await stores.db.sql`update elevenlabs_connection set enabled = false where id <> ${conn.id} and enabled`;

	const port = await freePort();
	baseUrl = `http://127.0.0.1:${port}`;
	const env = {
		...process.env,
		...testEnv(),
		LOG_LEVEL: 'info',
		PORT: String(port),
		HOST: '127.0.0.1',
		ORIGIN: baseUrl,
		WEB_PROCESSES: '2',
		// The load is a steady stream, not the burst intake-first is for; keep its log lines out of the count.
		INBOX_BURST_RATE: '1000000'
	};
	const web = spawnChild('web', 'src/lib/server/web-server.ts', env);
	const worker = spawnChild('worker', 'src/lib/server/jobs/worker.ts', env);
	await until('the web server to answer', 120_000, async () => (await fetch(`${baseUrl}/healthz`)).status > 0);
	await until('the worker to start', 120_000, async () => worker.lines.some((l) => l.text.includes('worker started')));
	note('web server and worker up');

	// ---- load: SENDERS loops on loopback, each delivery a new call; a 503 (or a cut connection) is sent again later,
	// the same bytes re-signed, as upstream retries.
	const url = `${baseUrl}/api/webhooks/elevenlabs/${conn.id}`;
	const accepted = new Map<string, number>(); // conversation id → duration
	const retryQueue: { id: string; body: string; duration: number }[] = [];
	const got503 = new Set<string>();
	const counts = { sent: 0, ok: 0, duplicate: 0, s503: 0, transport: 0, other: 0 };
	const otherStatuses: string[] = [];
	let loadOn = true;
	const send = async (d: { id: string; body: string; duration: number }) => {
		counts.sent++;
		try {
			const res = await fetch(url, { method: 'POST', body: d.body, headers: { 'content-type': 'application/json', 'ElevenLabs-Signature': signWebhookBody(d.body, conn.webhookSecret) } });
			const text = await res.text();
			if (res.status === 200) {
				counts.ok++;
				if ((JSON.parse(text) as { duplicate: boolean }).duplicate) counts.duplicate++;
				accepted.set(d.id, d.duration);
				return;
			}
			if (res.status === 503) {
				counts.s503++;
				got503.add(d.id);
			} else {
				counts.other++;
				otherStatuses.push(`${res.status} ${text.slice(0, 100)}`);
			}
		} catch {
			counts.transport++;
		}
		retryQueue.push(d);
	};
	const sender = async () => {
		while (loadOn) {
			const retry = retryQueue.length > 0 && Math.random() < 0.5 ? retryQueue.shift() : undefined;
			const d = retry ?? (() => {
				const id = uniqueId('conv');
				const duration = 1 + Math.floor(Math.random() * 600);
				return { id, duration, body: JSON.stringify(transcriptionEvent({ conversationId: id, agentId: 'agent_pg_restart', durationSecs: duration })) };
			})();
			await send(d);
			// A failed delivery is retried after a pause, as upstream would; healthy ones go back to back.
			if (retry && !accepted.has(retry.id)) await sleep(200);
		}
	};
	const load = Array.from({ length: SENDERS }, () => sender());

	const processed = () =>
		retrying(async () => (await stores.db.db.select({ n: sql<number>`count(*)::int` }).from(conversation).where(eq(conversation.connectionId, conn.id)))[0].n);
	/** Waits until, after a fault, webhooks are accepted again, the worker processes again, and /healthz is fine. */
	const recovered = async (label: string) => {
		const okBefore = counts.ok;
		const processedBefore = await processed();
		await until(`webhooks accepted again after ${label}`, 180_000, async () => counts.ok > okBefore + 50);
		await until(`the worker processing again after ${label}`, 180_000, async () => (await processed()) > processedBefore + 50);
		await until(`/healthz ok after ${label}`, 180_000, async () => {
			const h = (await (await fetch(`${baseUrl}/healthz`)).json()) as { components: { postgres: { ok: boolean } } };
			return h.components.postgres.ok;
		});
		note(`${label}: recovered (${JSON.stringify(counts)})`);
	};
	/** Polls /healthz while `fault` runs; true if it ever reported PostgreSQL down. */
	const watchHealth = async (fault: Promise<unknown>) => {
		let sawDown = false;
		let done = false;
		void fault.finally(() => (done = true)).catch(() => {});
		while (!done) {
			const h = await fetch(`${baseUrl}/healthz`)
				.then((r) => r.json() as Promise<{ components: { postgres: { ok: boolean } } }>)
				.catch(() => null);
			if (h && !h.components.postgres.ok) sawDown = true;
			await sleep(100);
		}
		await fault;
		return sawDown;
	};

	await until('load to flow', 120_000, async () => counts.ok >= 300 && (await processed()) >= 100);
	note(`load flowing (${JSON.stringify(counts)})`);
	const faultsStart = Date.now();

	// (a) fast shutdown, down for 3 s, started again.
	postgresMayBeDown = true;
	const healthSawDown = await watchHealth(exec('bash', ['scripts/stores.sh', 'restart-postgres', 'fast', '3'], { cwd: root }));
	postgresMayBeDown = false;
	note('PostgreSQL restarted (fast)');
	await recovered('fast restart');
	const after503s = counts.s503;

	// (b) immediate shutdown (no checkpoint: crash recovery on start), straight back up.
	postgresMayBeDown = true;
	await exec('bash', ['scripts/stores.sh', 'restart-postgres', 'immediate', '0'], { cwd: root });
	postgresMayBeDown = false;
	note('PostgreSQL restarted (immediate)');
	await recovered('immediate restart');

	// (c) every client backend terminated (the test's own connections too).
	const [{ n: terminated }] = await retrying(
		() => stores.db.sql<{ n: number }[]>`
			select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
			where pid <> pg_backend_pid() and backend_type = 'client backend'`
	);
	note(`terminated ${terminated} backends`);
	await recovered('terminated backends');

	// Stop the load; send every delivery still unanswered until it is accepted.
	await sleep(2_000);
	loadOn = false;
	await Promise.all(load);
	await until('every 503 to be accepted on a later try', 120_000, async () => {
		for (const d of retryQueue.splice(0)) await send(d);
		return retryQueue.length === 0;
	});
	note(`load stopped: ${JSON.stringify(counts)}; ${got503.size} deliveries got a 503 first`);

	// The worker drains what was accepted into PostgreSQL and ClickHouse on its own.
	await until('the worker to drain inbox and outbox', 240_000, async () => {
		const [inbox] = await stores.db.db
			.select({ n: sql<number>`count(*)::int` })
			.from(webhookInbox)
			.where(and(eq(webhookInbox.connectionId, conn.id), eq(webhookInbox.status, 'pending')));
		const [out] = await stores.db.db.select({ n: sql<number>`count(*)::int` }).from(outbox).where(eq(outbox.connectionId, conn.id));
		return inbox.n === 0 && out.n === 0;
	});
	note('inbox and outbox drained');

	// No product process exited (the web server replaces a web process that dies, and would say so).
	assertChildrenAlive();
	expect(web.lines.filter((l) => l.text.includes('web process died'))).toEqual([]);

	// The faults were real: deliveries were refused with 503 during the fast restart, /healthz saw it.
	expect(after503s).toBeGreaterThan(0);
	expect(healthSawDown).toBe(true);
	expect(otherStatuses).toEqual([]);

	// PostgreSQL: every accepted delivery once, nothing else; nothing parked as failed.
	const rows = await stores.db.db
		.select({ id: conversation.conversationId, duration: conversation.durationSecs })
		.from(conversation)
		.where(eq(conversation.connectionId, conn.id));
	expect(rows.length).toBe(accepted.size);
	const missing = [...accepted.keys()].filter((id) => !rows.some((r) => r.id === id));
	expect(missing.slice(0, 5)).toEqual([]);
	expect(rows.filter((r) => r.duration !== accepted.get(r.id))).toEqual([]);
	const [{ failed }] = await stores.db.db
		.select({ failed: sql<number>`count(*)::int` })
		.from(webhookInbox)
		.where(and(eq(webhookInbox.connectionId, conn.id), eq(webhookInbox.status, 'failed')));
	expect(failed).toBe(0);
	// The deliveries answered 503 and sent again are among them, once each (checked above and in ClickHouse below).
	expect([...got503].filter((id) => !accepted.has(id))).toEqual([]);

	// ClickHouse: every accepted call exactly once, as stored rows (no FINAL): no batch was sent twice.
	const events = await queryRows(
		stores.ch,
		chSql`SELECT conversation_id, count() AS n, sum(sign) AS s FROM call_events WHERE tenant_id = toUUID(${tenant.id}) GROUP BY conversation_id`,
		z.object({ conversation_id: z.string(), n: z.coerce.number(), s: z.coerce.number() })
	);
	expect(events.length).toBe(accepted.size);
	expect(events.filter((e) => e.n !== 1 || e.s !== 1 || !accepted.has(e.conversation_id)).slice(0, 5)).toEqual([]);

	// PostgreSQL, call_events FINAL and the rollup agree exactly.
	const pg = { calls: accepted.size, durationSecs: [...accepted.values()].reduce((s, d) => s + d, 0) };
	const final = await queryTenantCallTotals(stores.ch, { tenantId: tenant.id });
	const rollup = await queryTenantCallRollupTotals(stores.ch, { tenantId: tenant.id });
	expect({ calls: final.calls, durationSecs: final.durationSecs }).toEqual(pg);
	expect({ calls: rollup.calls, durationSecs: rollup.durationSecs }).toEqual(pg);

	// The log: from the first fault to the end (the drain included), fewer than 50 lines in all, no stacks; each process said
	// when PostgreSQL went away and when it came back.
	const outageLines = children.flatMap((c) => c.lines.filter((l) => l.at >= faultsStart).map((l) => `${c.name}: ${l.text}`));
	note(`${outageLines.length} log lines during the faults:\n${outageLines.join('\n')}`);
	expect(outageLines.length).toBeLessThan(50);
	expect(outageLines.filter((l) => l.includes('"stack"'))).toEqual([]);
	for (const c of [web, worker]) {
		expect(c.lines.some((l) => l.text.includes('postgres unavailable'))).toBe(true);
		expect(c.lines.some((l) => l.text.includes('postgres available again'))).toBe(true);
	}
	note(`done: ${accepted.size} calls accepted, ${got503.size} after a 503`);
});
