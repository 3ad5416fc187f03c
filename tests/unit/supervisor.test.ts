import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
	DEFAULT_RESTART_RULES,
	LineRing,
	RestartPolicy,
	SupervisedProcess,
	type RestartDecision,
	type RestartRules
} from '../../scripts/lib/supervisor';

// The supervisor behind `npm start`: backoff, give-up reporting and stopping, with real child processes.
const fast: RestartRules = {
	initialDelayMs: 20,
	maxDelayMs: 80,
	healthyAfterMs: 60_000,
	failingAfterCrashes: 4,
	failingWindowMs: 60_000,
	failingRetryMs: 60_000
};

describe('RestartPolicy', () => {
	it('doubles the delay from 0.5 s up to 30 s, and reports a process failing at the 5th crash within two minutes', () => {
		const p = new RestartPolicy(DEFAULT_RESTART_RULES);
		const at = (s: number) => s * 1000;
		const decisions = [0, 1, 3, 6, 11].map((s) => p.crashed(at(s)));
		expect(decisions.map((d) => [d.restartInMs, d.crashes, d.failing, d.becameFailing])).toEqual([
			[500, 1, false, false],
			[1000, 2, false, false],
			[2000, 3, false, false],
			[4000, 4, false, false],
			[60_000, 5, true, true]
		]);
		// Reported once; later crashes retry at the long interval without a second report.
		expect(p.crashed(at(80))).toMatchObject({ restartInMs: 60_000, failing: true, becameFailing: false });
	});

	it('caps the delay at 30 s when crashes are spread out, and forgets crashes older than the window', () => {
		const p = new RestartPolicy(DEFAULT_RESTART_RULES);
		const delays: number[] = [];
		// One crash every 100 s: never 5 within 120 s, so never failing, but the delay keeps growing to its cap.
		for (let i = 0; i < 9; i++) {
			const d: RestartDecision = p.crashed(i * 100_000);
			expect(d.failing).toBe(false);
			expect(d.crashes).toBeLessThanOrEqual(2);
			delays.push(d.restartInMs);
		}
		expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
	});

	it('starts over after a healthy run: short delay, no crashes counted, failing cleared', () => {
		const p = new RestartPolicy(DEFAULT_RESTART_RULES);
		for (let i = 0; i < 5; i++) p.crashed(i);
		expect(p.isFailing).toBe(true);
		expect(p.markHealthy()).toBe(true);
		expect(p.crashed(1_000_000)).toEqual({ restartInMs: 500, crashes: 1, failing: false, becameFailing: false });
		expect(p.markHealthy()).toBe(false);
	});
});

it('LineRing keeps the last lines in order', () => {
	const r = new LineRing(3);
	for (const l of ['a', 'b', 'c', 'd', 'e']) r.push(l);
	expect(r.get()).toEqual(['c', 'd', 'e']);
});

describe('SupervisedProcess', { timeout: 20_000 }, () => {
	const running: SupervisedProcess[] = [];
	const dirs: string[] = [];
	afterEach(async () => {
		await Promise.all(running.splice(0).map((s) => s.stop('SIGKILL', 1000)));
		for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
	});

	function supervise(script: string, rules: RestartRules = fast, tail = 20) {
		const said: string[] = [];
		const lines: string[] = [];
		const s = new SupervisedProcess(
			{ name: 'child', command: process.execPath, args: ['-e', script] },
			{ say: (l) => said.push(l), line: (_name, stream, l) => lines.push(`${stream}:${l}`) },
			rules,
			tail
		);
		const exits: (RestartDecision & { code: number | null; signal: string | null })[] = [];
		s.on('exit', (e) => exits.push(e));
		running.push(s);
		return { s, said, lines, exits };
	}

	// A script that behaves differently on each run: it counts its runs in a file.
	function countingScript(body: string) {
		const dir = mkdtempSync(join(tmpdir(), 'supervisor-'));
		dirs.push(dir);
		const file = JSON.stringify(join(dir, 'runs'));
		return `const fs=require('fs');const f=${file};const run=(fs.existsSync(f)?Number(fs.readFileSync(f,'utf8')):0)+1;fs.writeFileSync(f,String(run));${body}`;
	}

	it('restarts a crashing child with doubling delays, then reports it failing with its last output lines', async () => {
		const { s, said, lines, exits } = supervise(
			countingScript(`console.error('err '+run);for(let i=1;i<=8;i++)console.log('run '+run+' line '+i);console.log('fatal in run '+run);process.exit(3)`),
			fast,
			5
		);
		const failing = once(s, 'failing');
		s.start();
		const [tail] = (await failing) as [string[]];
		expect(exits.map((e) => [e.code, e.restartInMs, e.failing])).toEqual([
			[3, 20, false],
			[3, 40, false],
			[3, 80, false],
			[3, 60_000, true]
		]);
		expect(s.restarts).toBe(3);
		// The report carries the last run's last lines, in order (stderr's line may land anywhere between them).
		expect(tail).toHaveLength(5);
		expect(tail.filter((l) => !l.startsWith('err ')).slice(-4)).toEqual(['run 4 line 6', 'run 4 line 7', 'run 4 line 8', 'fatal in run 4']);
		expect(said.at(-2)).toContain('child keeps dying: 4 exits');
		expect(said.at(-2)).toContain('code 3');
		expect(said.at(-2)).toContain('    | fatal in run 4');
		expect(said.at(-1)).toContain('trying again every 60 s');
		expect(said.slice(0, 3)).toEqual([
			expect.stringMatching(/^child exited \(code 3\) after .*; restarting in 20 ms$/),
			expect.stringContaining('child restarted (pid'),
			expect.stringMatching(/^child exited \(code 3\) after .*; restarting in 40 ms$/)
		]);
		// Every line was also passed through, tagged with its stream.
		expect(lines.filter((l) => l.startsWith('stderr:'))).toEqual(['stderr:err 1', 'stderr:err 2', 'stderr:err 3', 'stderr:err 4']);
		expect(lines.filter((l) => l.startsWith('stdout:'))).toHaveLength(4 * 9);
		// Waiting for the long retry: nothing is running.
		expect(s.pid).toBeUndefined();
	});

	it('starts the backoff over once a run has stayed up for the healthy period', async () => {
		// Long enough that a crashing run (a node start) never counts as healthy on a loaded machine.
		const rules = { ...fast, healthyAfterMs: 2000 };
		// Runs 1-3 crash at once; run 4 stays up until killed.
		const { s, exits } = supervise(countingScript(`if(run<=3)process.exit(1);setInterval(()=>{},1000)`), rules);
		const healthy = once(s, 'healthy');
		s.start();
		await healthy;
		expect(exits.map((e) => e.restartInMs)).toEqual([20, 40, 80]);
		const pid = s.pid!;
		const next = once(s, 'spawn');
		process.kill(pid, 'SIGKILL');
		await next;
		expect(exits.at(-1)).toMatchObject({ signal: 'SIGKILL', restartInMs: 20, crashes: 1, failing: false });
		expect(s.pid).not.toBe(pid);
	});

	it('says when a failing child has recovered', async () => {
		const rules = { ...fast, healthyAfterMs: 2000, failingAfterCrashes: 2, failingRetryMs: 30 };
		const { s, said } = supervise(countingScript(`if(run<=3)process.exit(2);setInterval(()=>{},1000)`), rules);
		const recovered = once(s, 'recovered');
		s.start();
		await recovered;
		expect(said.filter((l) => l.includes('keeps dying'))).toHaveLength(1);
		expect(said.some((l) => l.includes('still failing, next try in'))).toBe(true);
		expect(said.at(-1)).toMatch(/^child has stayed up for 2\.0 s; recovered$/);
	});

	it('stops a child on request without restarting it, forcing one that ignores SIGTERM', async () => {
		const { s, exits, lines } = supervise(`process.on('SIGTERM',()=>console.log('ignoring SIGTERM'));console.log('up');setInterval(()=>{},1000)`);
		const spawned = once(s, 'spawn');
		s.start();
		const [pid] = (await spawned) as [number];
		// Signals sent before the child installs its handler would kill it outright; wait for it to say it is up.
		while (!lines.includes('stdout:up')) await new Promise((r) => setTimeout(r, 10));
		await s.stop('SIGTERM', 300);
		expect(lines).toContain('stdout:ignoring SIGTERM');
		expect(() => process.kill(pid, 0)).toThrow();
		expect(exits).toEqual([]);
		expect(s.pid).toBeUndefined();
	});

	it('counts a command that cannot be started as a crash', async () => {
		const said: string[] = [];
		const s = new SupervisedProcess({ name: 'ghost', command: '/nonexistent/voxcalls-binary', args: [] }, { say: (l) => said.push(l) }, fast);
		running.push(s);
		const exit = once(s, 'exit');
		s.start();
		const [e] = (await exit) as [RestartDecision & { code: number | null }];
		expect(e).toMatchObject({ code: null, crashes: 1, restartInMs: 20 });
		expect(said[0]).toMatch(/^ghost exited \(failed to start\)/);
		expect(s.lastLines()[0]).toContain('could not be started: spawn /nonexistent/voxcalls-binary ENOENT');
	});
});
