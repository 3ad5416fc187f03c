import { randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import PgBoss from 'pg-boss';
import { createDb } from '../../src/lib/server/db/client';
import { testEnv } from '../setup/test-env';

// patches/pg-boss+10.4.2.patch (timgit/pg-boss#577): pg-boss 10 does not await the complete()/fail() that follows a
// job, so when PostgreSQL refuses it that rejection was unhandled and ended the worker (caught by
// postgres-restart.test.ts about one run in three). Here PostgreSQL really refuses: the boss connects as its own
// role, and the job's handler forbids that role to log in and terminates its connections before returning, so the
// completion cannot reach the database. With the patch it arrives as pg-boss's 'error' event; without it, as an
// unhandled rejection.

const role = `pgboss_patch_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
const queue = `patch-test-${randomUUID().slice(0, 8)}`;
const url = testEnv().DATABASE_URL;
const admin = createDb(url, { max: 2, applicationName: 'pg-boss-patch-test' });
let boss: PgBoss | undefined;

afterAll(async () => {
	await admin.sql.unsafe(`alter role ${role} login`).catch(() => {});
	await boss?.stop({ graceful: false, wait: true }).catch(() => {});
	await admin.sql.unsafe(`select pg_terminate_backend(pid) from pg_stat_activity where usename = '${role}'`).catch(() => {});
	// The queue's partition table belongs to the role.
	await admin.sql.unsafe(`reassign owned by ${role} to current_user; drop owned by ${role}; drop role if exists ${role}`).catch(() => {});
	await admin.close();
});

it('a job completion that PostgreSQL refuses is an error event, not an unhandled rejection', { timeout: 60_000 }, async () => {
	await admin.sql.unsafe(`create role ${role} login superuser`);
	const roleUrl = new URL(url);
	roleUrl.username = role;
	const unhandled: unknown[] = [];
	const onUnhandled = (reason: unknown) => void unhandled.push(reason);
	process.on('unhandledRejection', onUnhandled);
	try {
		boss = new PgBoss({ connectionString: roleUrl.toString(), schema: 'pgboss', supervise: false, schedule: false, max: 2 });
		const errors: { message?: string; queue?: string; code?: string }[] = [];
		boss.on('error', (err) => void errors.push(err as never));
		await boss.start();
		await boss.createQueue(queue);
		let handled = false;
		await boss.work(queue, { pollingIntervalSeconds: 0.5 }, async () => {
			await admin.sql.unsafe(`alter role ${role} nologin`);
			await admin.sql.unsafe(`select pg_terminate_backend(pid) from pg_stat_activity where usename = '${role}'`);
			const until = Date.now() + 20_000;
			while ((await admin.sql.unsafe(`select 1 from pg_stat_activity where usename = '${role}'`)).length > 0 && Date.now() < until) {
				await new Promise((r) => setTimeout(r, 50));
			}
			handled = true;
		});
		await boss.send(queue, {});
		const until = Date.now() + 40_000;
		// The completion's refusal (28000: the role may not log in), reported for this queue.
		while (!errors.some((e) => e.queue === queue && e.code === '28000') && unhandled.length === 0 && Date.now() < until) {
			await new Promise((r) => setTimeout(r, 100));
		}
		expect(handled).toBe(true);
		expect(unhandled).toEqual([]);
		expect(errors.some((e) => e.queue === queue && e.code === '28000')).toBe(true);
	} finally {
		process.off('unhandledRejection', onUnhandled);
	}
});
