import { spawn, type ChildProcess } from 'node:child_process';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, expect, it } from 'vitest';
import { queryTenantCallTotals } from '../../../src/lib/server/analytics/queries/calls/tenant-call-totals';
import { conversation, webhookInbox } from '../../../src/lib/server/db/schema/index';
import { POST } from '../../../src/routes/api/webhooks/elevenlabs/[connection]/+server';
import { createTestConnection, signedWebhookEvent, transcriptionEvent, uniqueId } from '../../factories/ingest';
import { createTestTenant } from '../../factories/tenant';
import { eventually } from '../../setup/eventually';
import { connectTestStores } from '../../setup/stores';
import { testEnv } from '../../setup/test-env';

// `npm run worker` stopped with SIGTERM while it is working through a backlog: it exits 0 promptly, nothing it
// had claimed is lost or half-applied, and the next worker finishes the backlog with exact totals.
const stores = connectTestStores();
const workers: ChildProcess[] = [];
afterAll(async () => {
	for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
	await stores.close();
});

function startWorker() {
	const w = spawn(process.execPath, ['--import', 'tsx', 'src/lib/server/jobs/worker.ts'], {
		env: { ...process.env, ...testEnv(), LOG_LEVEL: 'warn', OUTBOX_BATCH_MS: '50' },
		stdio: ['ignore', 'inherit', 'inherit']
	});
	workers.push(w);
	return w;
}

const exited = (w: ChildProcess) =>
	new Promise<number | null>((r) => (w.exitCode !== null ? r(w.exitCode) : w.once('exit', (code) => r(code))));

const n = 3000;

async function counts(connectionId: string) {
	const [inbox] = await stores.db.db
		.select({
			pending: sql<number>`count(*) filter (where ${webhookInbox.status} = 'pending')::int`,
			// Applied rows leave the inbox; anything else still in it is unfinished business.
			other: sql<number>`count(*) filter (where ${webhookInbox.status} <> 'pending')::int`
		})
		.from(webhookInbox)
		.where(eq(webhookInbox.connectionId, connectionId));
	const [conv] = await stores.db.db
		.select({ n: sql<number>`count(*)::int` })
		.from(conversation)
		.where(and(eq(conversation.connectionId, connectionId)));
	return { pending: inbox.pending, other: inbox.other, processed: n - inbox.pending - inbox.other, conversations: conv.n };
}

it('finishes or leaves for retry every claimed job on SIGTERM, and loses nothing', { timeout: 240_000 }, async () => {
	const t = await createTestTenant(stores.db.db);
	const conn = await createTestConnection(stores.db.db, { tenantId: t.id });
	const agentId = uniqueId('agent');
	for (let i = 0; i < n; i += 100) {
		await Promise.all(
			Array.from({ length: 100 }, async () => {
				const body = JSON.stringify(transcriptionEvent({ conversationId: uniqueId('conv'), agentId, durationSecs: 7 }));
				const res = await POST(signedWebhookEvent(conn.id, body, { secret: conn.webhookSecret }) as unknown as Parameters<typeof POST>[0]);
				expect(res.status).toBe(200);
			})
		);
	}

	const first = startWorker();
	// Stop it once it is visibly mid-backlog (or, on a fast machine, done with it).
	await eventually(
		async () => {
			const c = await counts(conn.id);
			return c.processed > 0 || c.pending === 0;
		},
		{ what: 'the worker to start on the backlog', timeoutMs: 60_000, intervalMs: 20 }
	);
	const stoppedAt = Date.now();
	first.kill('SIGTERM');
	expect(await exited(first)).toBe(0);
	const mid = await counts(conn.id);
	console.log(`SIGTERM mid-backlog: exited after ${Date.now() - stoppedAt} ms with ${mid.processed}/${n} processed`);
	// Every processed inbox row has its conversation; nothing claimed was left half-done.
	expect(mid.other).toBe(0);
	expect(mid.conversations).toBe(mid.processed);

	const second = startWorker();
	try {
		await eventually(
			async () => {
				expect(await counts(conn.id)).toEqual({ pending: 0, other: 0, processed: n, conversations: n });
				expect(await queryTenantCallTotals(stores.ch, { tenantId: t.id })).toMatchObject({ calls: n, durationSecs: 7 * n });
			},
			{ what: 'the second worker to finish the backlog', timeoutMs: 180_000, intervalMs: 250 }
		);
	} finally {
		second.kill('SIGTERM');
	}
	expect(await exited(second)).toBe(0);
});
