import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { eventually } from '../setup/eventually';
import { connectTestStores } from '../setup/stores';
import { testEnv } from '../setup/test-env';

// Regression test for the postgres.js patch (patches/postgres+3.4.9.patch, porsager/postgres#1154 and #1208): a
// process whose backends are terminated while it holds a lease on a reserved connection, runs pooled queries and
// transactions must not die of `TypeError: Cannot read properties of null (reading 'write')` thrown from a
// setImmediate, and every kind of work must resume on fresh connections. Unpatched, the child dies at the first
// termination.
const stores = connectTestStores();
afterAll(() => stores.close());

type Stats = { ok: Record<string, number>; streak: Record<string, number>; errors: Record<string, number> };
const WORK = ['lease', 'pooled', 'tx'] as const;

it('survives pg_terminate_backend on its lease, pool and transaction connections, and keeps working', { timeout: 180_000 }, async () => {
	const applicationName = `voxcalls-driver-test-${randomUUID().slice(0, 8)}`;
	const child = spawn(process.execPath, ['--import', 'tsx', 'tests/integration/fixtures/postgres-reconnect-child.ts'], {
		env: { ...process.env, ...testEnv(), CHILD_APPLICATION_NAME: applicationName },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let latest: Stats | undefined;
	let stdoutTail = '';
	let stderr = '';
	child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
		const lines = (stdoutTail + chunk).split('\n');
		stdoutTail = lines.pop() ?? '';
		for (const line of lines) if (line.startsWith('{')) latest = JSON.parse(line) as Stats;
	});
	child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
	const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
	// Any wait below fails at once, with the child's last words, if the child dies.
	const died = exited.then((code) => {
		throw new Error(`the child process exited (${code}) while its backends were terminated:\n${stderr}`);
	});
	died.catch(() => {});
	const whileAlive = <T>(p: Promise<T>) => Promise.race([p, died]);

	try {
		// Every kind of work has succeeded `ahead` more times than in `before`, the last `ahead` of them in a row (a
		// connection left broken in the pool would keep failing a share of them).
		const progressed = (before: Stats | undefined, ahead: number) =>
			whileAlive(
				eventually(
					() => {
						for (const w of WORK) {
							expect(latest?.ok[w], `${w} successes`).toBeGreaterThanOrEqual((before?.ok[w] ?? 0) + ahead);
							expect(latest?.streak[w], `${w} successes in a row`).toBeGreaterThanOrEqual(ahead);
						}
					},
					{ what: 'lease, pooled and transaction work to succeed again', timeoutMs: 60_000 }
				)
			);

		await progressed(undefined, 10);
		for (let round = 0; round < 3; round++) {
			const before = latest;
			// In the select list, not the WHERE clause, where the planner may call it before the name filter.
			const terminated = await stores.db.sql<{ pid: number; ok: boolean }[]>`
				select pid, pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = ${applicationName}`;
			expect(terminated.filter((t) => t.ok).length, 'backends terminated').toBeGreaterThan(0);
			await progressed(before, 10);
		}
		// The terminations reached the child's work: some of it failed (and was retried), none of it killed the process.
		expect(Object.values(latest!.errors).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
		console.log(`failures seen by the child across 3 terminations: ${JSON.stringify(latest!.errors)}`);
	} finally {
		if (child.exitCode === null) child.kill('SIGTERM');
	}
	expect(await exited, `exit code; stderr:\n${stderr}`).toBe(0);
	expect(stderr).not.toMatch(/TypeError/);
});
