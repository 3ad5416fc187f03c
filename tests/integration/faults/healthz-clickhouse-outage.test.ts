import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GET } from '../../../src/routes/healthz/+server';
import { getDb } from '../../../src/lib/server/db/index';
import { stampWorkerHeartbeat } from '../../../src/lib/server/jobs/handlers/heartbeat';

// Stops the real ClickHouse server under a long-lived app module and checks /healthz follows it both ways.
const stores = (cmd: string) => execFileSync('bash', ['scripts/stores.sh', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });
const healthz = async () => {
	const res = await GET({} as Parameters<typeof GET>[0]);
	return { status: res.status, body: await res.json() };
};

beforeAll(async () => {
	// The queue component needs a live worker; stand in for one with a fresh heartbeat.
	await stampWorkerHeartbeat({ db: getDb(), workerId: 'healthz-test' });
});
afterAll(() => stores('start-clickhouse'));

it('turns 503 naming ClickHouse while it is down, and green again without a restart', async () => {
	expect((await healthz()).status).toBe(200);
	stores('stop-clickhouse');
	const down = await healthz();
	expect(down.status).toBe(503);
	expect(down.body.down).toEqual(['clickhouse']);
	expect(down.body.components.postgres.ok).toBe(true);
	stores('start-clickhouse');
	await stampWorkerHeartbeat({ db: getDb(), workerId: 'healthz-test' });
	const up = await healthz();
	expect(up.status).toBe(200);
	expect(up.body.components.clickhouse.ok).toBe(true);
});
