import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '../../../src/lib/server/services/demo/seed';
import { testStoreUrls } from '../../setup/test-env';

// `npm start` as an operator runs it: the worker is SIGKILLed under it; a new worker must be running within 10 s
// and calls must keep arriving in the dashboard. Then Ctrl-C stops every process it started.
// The command gets a database of its own, so its demo tenant and emulator never touch the other tests' data.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const DB = 'voxcalls_start_test';
const urls = testStoreUrls();
const pgUrl = urls.DATABASE_URL.replace(/\/[^/?]+(\?.*)?$/, `/${DB}`);
const chBase = new URL(urls.CLICKHOUSE_URL).origin;
const admin = postgres(urls.DATABASE_URL, { max: 1, onnotice: () => {} });
let sql: ReturnType<typeof postgres> | undefined;
let start: ChildProcess | undefined;
const output: string[] = [];
let lastSeen = '';

const chExec = async (q: string) => {
	const res = await fetch(`${chBase}/`, { method: 'POST', body: q });
	if (!res.ok) throw new Error(`ClickHouse: ${await res.text()}`);
};

async function freePorts(n: number): Promise<number[]> {
	const servers = await Promise.all(
		Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((ok) => {
			const s = createServer();
			s.listen(0, '127.0.0.1', () => ok(s));
		}))
	);
	const ports = servers.map((s) => (s.address() as { port: number }).port);
	await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
	return ports;
}

/** Live processes of a process group, with their command lines (from /proc). */
function groupMembers(pgid: number): { pid: number; cmd: string }[] {
	const found: { pid: number; cmd: string }[] = [];
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			// Fields after the parenthesised name: state ppid pgrp …
			const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			if (Number(pgrp) !== pgid || state === 'Z') continue;
			found.push({ pid: Number(entry), cmd: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ') });
		} catch {
			/* gone meanwhile */
		}
	}
	return found;
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
	const deadline = Date.now() + ms;
	lastSeen = '';
	for (;;) {
		const v = await probe();
		if (v !== undefined) return v;
		if (Date.now() > deadline) {
			// The emulator announces every call; leave those out of the report.
			const shown = output.filter((l) => !l.startsWith('elevenlabs emulator: new ')).slice(-60);
			throw new Error(`${what}: not within ${ms / 1000} s (last seen: ${lastSeen})\n--- npm start output ---\n${shown.join('\n')}`);
		}
		await new Promise((r) => setTimeout(r, 200));
	}
}

beforeAll(async () => {
	await admin.unsafe(`drop database if exists ${DB} with (force)`);
	await admin.unsafe(`create database ${DB}`);
	await chExec(`DROP DATABASE IF EXISTS ${DB}`);
	await chExec(`CREATE DATABASE ${DB}`);
	sql = postgres(pgUrl, { max: 1, onnotice: () => {} });
});

afterAll(async () => {
	// On any failure above: nothing from this command may outlive the test.
	if (start?.pid) {
		try {
			process.kill(-start.pid, 'SIGKILL');
		} catch {
			/* already gone */
		}
		await until('the start command gone', 10_000, () => (groupMembers(start!.pid!).length === 0 ? true : undefined)).catch(() => undefined);
	}
	await sql?.end();
	await admin.unsafe(`drop database if exists ${DB} with (force)`);
	await admin.end();
	await chExec(`DROP DATABASE IF EXISTS ${DB}`);
});

it('replaces a SIGKILLed worker within 10 s, calls keep reaching the dashboard, and Ctrl-C stops every child', { timeout: 600_000 }, async () => {
	const [port, elevenLabsPort, twilioPort] = await freePorts(3);
	const env: NodeJS.ProcessEnv = {
		...process.env,
		DATABASE_URL: pgUrl,
		CLICKHOUSE_URL: `${chBase}/${DB}`,
		PORT: String(port),
		ELEVENLABS_EMULATOR_PORT: String(elevenLabsPort),
		TWILIO_EMULATOR_PORT: String(twilioPort),
		// A call every half second, so "calls keep arriving" shows within seconds.
		ELEVENLABS_EMULATOR_CALL_INTERVAL_MS: '500',
		LOG_LEVEL: 'warn'
	};
	// As a user's shell would have it, not the test runner's.
	delete env.NODE_ENV;
	delete env.ORIGIN;
	const origin = `http://localhost:${port}`;
	// Its own process group, like a command in a terminal: Ctrl-C below signals the whole group (npm included,
	// which passes the signal on again).
	start = spawn('npm', ['start', '--silent'], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
	const pgid = start.pid!;
	const exited = new Promise<string>((r) => start!.once('exit', (code, signal) => r(signal ?? `code ${code}`)));
	for (const s of [start.stdout!, start.stderr!]) {
		s.setEncoding('utf8');
		s.on('data', (chunk: string) => output.push(...chunk.split('\n').filter(Boolean)));
	}

	await until('npm start up', 420_000, () => (output.some((l) => l.includes('VoxCalls is running at')) ? true : undefined));
	const signIn = await until('sign-in', 60_000, async () => {
		const body = new URLSearchParams({ email: 'owner@acme.test', password: DEMO_PASSWORD });
		const res = await fetch(`http://127.0.0.1:${port}/login`, { method: 'POST', body, redirect: 'manual', headers: { origin, accept: 'text/html' } }).catch(() => null);
		lastSeen = res ? `${res.status} ${(await res.clone().text()).slice(0, 300)}` : 'no answer';
		return res?.status === 303 ? res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') : undefined;
	});
	const dashboardCalls = async () => {
		const input = encodeURIComponent(JSON.stringify({ json: {} }));
		const res = await fetch(`http://127.0.0.1:${port}/api/trpc/calls.summary?input=${input}`, {
			headers: { cookie: signIn, 'x-voxcalls-tenant': 'acme' }
		});
		if (res.status !== 200) throw new Error(`calls.summary answered ${res.status}: ${await res.text()}`);
		return ((await res.json()) as { result: { data: { json: { totals: { calls: number } } } } }).result.data.json.totals.calls;
	};
	const storedCalls = async () =>
		(await sql!`select count(*)::int as n from conversation c join tenant t on t.id = c.tenant_id where t.slug = 'acme'`)[0].n as number;
	const workers = () => groupMembers(pgid).filter((p) => p.cmd.includes('src/lib/server/jobs/worker.ts'));
	const others = () => groupMembers(pgid).filter((p) => /web-server\.ts|emulators\//.test(p.cmd)).map((p) => p.pid).sort();

	// Up, and calls are arriving.
	await until('first calls in the dashboard', 120_000, async () => {
		const n = await dashboardCalls().catch((err: Error) => void (lastSeen = err.message));
		return n !== undefined && n > 0 ? true : undefined;
	});
	const [worker] = workers();
	expect(workers()).toHaveLength(1);
	const othersBefore = others();
	expect(othersBefore.length).toBeGreaterThanOrEqual(3);
	const before = { dashboard: await dashboardCalls(), stored: await storedCalls() };

	process.kill(worker.pid, 'SIGKILL');
	const replacement = await until('a new worker', 10_000, () => workers().find((w) => w.pid !== worker.pid));
	expect(replacement.pid).not.toBe(worker.pid);
	expect(output.join('\n')).toMatch(/\[start\] worker exited \(signal SIGKILL\) after .*; restarting in 500 ms/);

	// Calls keep arriving: stored by the new worker, and counted on the dashboard.
	await until('calls stored after the kill', 120_000, async () => ((await storedCalls()) >= before.stored + 3 ? true : undefined));
	await until('calls on the dashboard after the kill', 120_000, async () => ((await dashboardCalls()) >= before.dashboard + 3 ? true : undefined));
	expect(output.join('\n')).toMatch(new RegExp(`\\[start\\] worker restarted \\(pid ${replacement.pid}, restart 1\\)`));
	// Only the worker was replaced.
	expect(others()).toEqual(othersBefore);
	expect(workers().map((w) => w.pid)).toEqual([replacement.pid]);

	// Ctrl-C: the terminal signals the whole group.
	process.kill(-pgid, 'SIGINT');
	// npm re-raises the signal on itself once its script has finished; the script itself stopped cleanly.
	expect(['code 0', 'SIGINT']).toContain(await exited);
	expect(output).toContain('[start] stopped');
	// One Ctrl-C (delivered twice: by the terminal and by npm) is a graceful stop, not a forced one.
	expect(output).not.toContain('[start] stopping now');
	// Stopping is not mistaken for crashes: the kill above was the only restart.
	expect(output.filter((l) => l.includes('restarting in'))).toHaveLength(1);
	expect(groupMembers(pgid)).toEqual([]);
});
