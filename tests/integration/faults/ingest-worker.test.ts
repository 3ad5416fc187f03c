import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queryTenantCallTotals } from '../../../src/lib/server/analytics/queries/calls/tenant-call-totals';
import { createBoss, sendJob, startBoss, type PgBoss } from '../../../src/lib/server/jobs/boss';
import { POST } from '../../../src/routes/api/webhooks/elevenlabs/[connection]/+server';
import { createTestConnection, signedWebhookEvent, transcriptionEvent, uniqueId } from '../../factories/ingest';
import { createTestTenant } from '../../factories/tenant';
import { eventually } from '../../setup/eventually';
import { connectTestStores } from '../../setup/stores';
import { testEnv } from '../../setup/test-env';

// The real worker process drives the inbox processor and the relay (pg-boss jobs running bounded loops):
// webhooks posted to the route become ClickHouse totals with no test code in between.
const stores = connectTestStores();
let worker: ChildProcess;
let boss: PgBoss;

beforeAll(async () => {
	boss = createBoss(testEnv().DATABASE_URL, { supervise: false, schedule: false });
	await startBoss(boss);
	// Start the loops now rather than at the next cron minute, as a deploy's first boot would.
	await sendJob(boss, 'webhook.process', {});
	await sendJob(boss, 'outbox.relay', {});
	worker = spawn(process.execPath, ['--import', 'tsx', 'src/lib/server/jobs/worker.ts'], {
		env: { ...process.env, ...testEnv(), LOG_LEVEL: 'warn', OUTBOX_BATCH_MS: '100' },
		stdio: ['ignore', 'inherit', 'inherit']
	});
});
afterAll(async () => {
	worker.kill('SIGTERM');
	await new Promise((r) => (worker.exitCode !== null ? r(null) : worker.once('exit', r)));
	await boss.stop({ graceful: false, wait: true });
	await stores.close();
});

it('turns posted webhooks into exact ClickHouse totals within seconds', { timeout: 120_000 }, async () => {
	const t = await createTestTenant(stores.db.db);
	const conn = await createTestConnection(stores.db.db, { tenantId: t.id });
	const agentId = uniqueId('agent');
	const n = 40;
	const posted = Date.now();
	for (let i = 0; i < n; i++) {
		const body = JSON.stringify(transcriptionEvent({ conversationId: uniqueId('conv'), agentId, durationSecs: 30 }));
		const res = await POST(signedWebhookEvent(conn.id, body, { secret: conn.webhookSecret }) as unknown as Parameters<typeof POST>[0]);
		expect(res.status).toBe(200);
	}
	await eventually(async () => expect(await queryTenantCallTotals(stores.ch, { tenantId: t.id })).toMatchObject({ calls: n, durationSecs: 30 * n }), {
		what: 'every call in the ClickHouse totals',
		timeoutMs: 90_000
	});
	const visibleAfterMs = Date.now() - posted;
	console.log(`webhook → ClickHouse: ${n} calls visible ${visibleAfterMs} ms after the first post`);
});
