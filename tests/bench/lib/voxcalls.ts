import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { z } from 'zod';
import { queryRows, type ClickHouseClient } from '../../../src/lib/server/analytics/client';
import { sql as chSql } from '../../../src/lib/server/analytics/literal';
import type { DbHandle } from '../../../src/lib/server/db/client';
import { createBoss, sendJob, startBoss } from '../../../src/lib/server/jobs/boss';
import { freePort, spawnNode, waitForHttp } from './processes';

// The system under test, as deployed: the built SvelteKit app (adapter-node) and the job worker, each its own
// process, against the bench stores. Plus what the benchmark asks of the stores afterwards: has the pipeline
// drained, and is every accepted delivery in PostgreSQL and counted exactly once in ClickHouse.

export interface VoxCallsProcesses {
	baseUrl: string;
	app: ChildProcess;
	worker: ChildProcess | null;
	/** Starts the worker (if it was held back) and its ingestion loops. */
	startWorker(): Promise<ChildProcess>;
}

export function buildApp(root: string): void {
	const build = () => execFileSync('npx', ['vite', 'build', '--logLevel', 'error'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
	try {
		build();
	} catch {
		// build/ and .svelte-kit/ are shared with anyone else building (an e2e run, svelte-check): try once more.
		console.error('[bench] build failed; retrying once in 10 s (another build may have been writing .svelte-kit/)');
		Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000);
		build();
	}
}

// Extra node flags for profiling one side, e.g. BENCH_APP_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
const extraNodeArgs = (name: string) => (process.env[name] ?? '').split(' ').filter(Boolean);

/** Starts the app, and the worker unless `withWorker` is false (a diagnostic: intake alone). */
export async function startVoxCalls(root: string, env: Record<string, string>, withWorker = true): Promise<VoxCallsProcesses> {
	const port = await freePort();
	const baseUrl = `http://127.0.0.1:${port}`;
	const full = { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', ORIGIN: baseUrl };
	const app = spawnNode('app', [...extraNodeArgs('BENCH_APP_NODE_ARGS'), '--import', 'tsx', 'src/lib/server/web-server.ts'], { cwd: root, env: full });
	await waitForHttp(`${baseUrl}/healthz`, 60_000, app);
	const sut: VoxCallsProcesses = {
		baseUrl,
		app,
		worker: null,
		async startWorker() {
			if (sut.worker) return sut.worker;
			sut.worker = spawnNode('worker', [...extraNodeArgs('BENCH_WORKER_NODE_ARGS'), '--import', 'tsx', 'src/lib/server/jobs/worker.ts'], { cwd: root, env: full });
			// Start the ingestion loops now rather than at the next cron minute. A second start is harmless: each
			// loop holds a lease, so an extra run just finds it taken.
			const boss = createBoss(env.DATABASE_URL, { supervise: false, schedule: false });
			await startBoss(boss);
			await sendJob(boss, 'webhook.process', {});
			await sendJob(boss, 'outbox.relay', {});
			await boss.stop({ graceful: false, wait: true });
			return sut.worker;
		}
	};
	if (withWorker) await sut.startWorker();
	return sut;
}

export interface Backlog {
	inboxPending: number;
	outboxUnsent: number;
}

export async function pipelineBacklog(db: DbHandle): Promise<Backlog> {
	const [r] = await db.sql<{ inbox: number; outbox: number }[]>`
		select (select count(*)::int from webhook_inbox where status = 'pending') as inbox,
		       (select count(*)::int from outbox) as outbox`;
	return { inboxPending: r.inbox, outboxUnsent: r.outbox };
}

/** Waits until the worker has processed the inbox and relayed the outbox; returns how long that took. */
export async function waitForDrain(db: DbHandle, timeoutMs: number): Promise<{ ms: number; drained: boolean; left: Backlog }> {
	const started = Date.now();
	for (;;) {
		const left = await pipelineBacklog(db);
		if (left.inboxPending === 0 && left.outboxUnsent === 0) return { ms: Date.now() - started, drained: true, left };
		if (Date.now() - started > timeoutMs) return { ms: Date.now() - started, drained: false, left };
		await new Promise((r) => setTimeout(r, 250));
	}
}

export interface LossCheck {
	accepted: number;
	inPostgres: number;
	/** Counted exactly once: sum(sign) = 1 in call_events FINAL. */
	inClickHouse: number;
	missingPostgres: string[];
	missingClickHouse: string[];
	/** Present in ClickHouse with sum(sign) other than 1. */
	miscounted: string[];
}

/** Is every accepted conversation id a PostgreSQL `conversation` row and exactly one live fact in ClickHouse? */
export async function checkZeroLoss(db: DbHandle, ch: ClickHouseClient, tenantId: string, acceptedIds: string[]): Promise<LossCheck> {
	const ids = [...new Set(acceptedIds)];
	const inPg = new Set<string>();
	for (let i = 0; i < ids.length; i += 10_000) {
		const rows = await db.sql<{ conversation_id: string }[]>`
			select conversation_id from conversation where conversation_id = any(${ids.slice(i, i + 10_000)}::text[])`;
		for (const r of rows) inPg.add(r.conversation_id);
	}
	const signs = new Map<string, number>();
	const q = chSql`SELECT conversation_id, sum(sign) AS s FROM call_events FINAL WHERE tenant_id = toUUID(${tenantId}) GROUP BY conversation_id`;
	for (const r of await queryRows(ch, q, z.object({ conversation_id: z.string(), s: z.coerce.number() }))) signs.set(r.conversation_id, r.s);
	const missingPostgres = ids.filter((id) => !inPg.has(id));
	const missingClickHouse = ids.filter((id) => !signs.has(id));
	const miscounted = ids.filter((id) => signs.has(id) && signs.get(id) !== 1);
	return {
		accepted: ids.length,
		inPostgres: ids.length - missingPostgres.length,
		inClickHouse: ids.filter((id) => signs.get(id) === 1).length,
		missingPostgres,
		missingClickHouse,
		miscounted
	};
}
