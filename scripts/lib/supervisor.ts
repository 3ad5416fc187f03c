// Keeps one child process running for `npm start`: restarts it with backoff when it exits unexpectedly, reports a
// process that keeps dying with its last output lines, and stops it on request without restarting it.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';

export interface RestartRules {
	/** Delay before the first restart; it doubles with each further crash up to maxDelayMs. */
	initialDelayMs: number;
	maxDelayMs: number;
	/** A run this long counts as healthy: the delay and the crash count start over. */
	healthyAfterMs: number;
	/** This many crashes within failingWindowMs mark the process as failing: reported once, with its last lines. */
	failingAfterCrashes: number;
	failingWindowMs: number;
	/** Once failing, the process is still retried, this far apart, until it stays up for healthyAfterMs. */
	failingRetryMs: number;
}

export const DEFAULT_RESTART_RULES: RestartRules = {
	initialDelayMs: 500,
	maxDelayMs: 30_000,
	healthyAfterMs: 60_000,
	failingAfterCrashes: 5,
	failingWindowMs: 120_000,
	failingRetryMs: 60_000
};

export interface RestartDecision {
	restartInMs: number;
	/** Crashes counted since the last healthy run. */
	crashes: number;
	failing: boolean;
	/** True for the crash that made the process failing: the one to report loudly. */
	becameFailing: boolean;
}

/** The backoff and give-up rules, apart from any process, so they can be reasoned about (and tested) alone. */
export class RestartPolicy {
	private delayMs: number;
	private crashTimes: number[] = [];
	private failing = false;

	constructor(readonly rules: RestartRules = DEFAULT_RESTART_RULES) {
		this.delayMs = rules.initialDelayMs;
	}

	get isFailing() {
		return this.failing;
	}

	/** The process has stayed up for healthyAfterMs. Returns whether it had been failing (a recovery worth saying). */
	markHealthy(): boolean {
		const was = this.failing;
		this.delayMs = this.rules.initialDelayMs;
		this.crashTimes = [];
		this.failing = false;
		return was;
	}

	crashed(at: number): RestartDecision {
		this.crashTimes = this.crashTimes.filter((t) => at - t < this.rules.failingWindowMs);
		this.crashTimes.push(at);
		const becameFailing = !this.failing && this.crashTimes.length >= this.rules.failingAfterCrashes;
		if (becameFailing) this.failing = true;
		let restartInMs: number;
		if (this.failing) restartInMs = this.rules.failingRetryMs;
		else {
			restartInMs = this.delayMs;
			this.delayMs = Math.min(this.delayMs * 2, this.rules.maxDelayMs);
		}
		return { restartInMs, crashes: this.crashTimes.length, failing: this.failing, becameFailing };
	}
}

/** The last `size` lines a child wrote, stdout and stderr interleaved as they arrived. */
export class LineRing {
	private lines: string[] = [];
	constructor(private readonly size: number) {}
	push(line: string) {
		this.lines.push(line);
		if (this.lines.length > this.size) this.lines.shift();
	}
	get(): string[] {
		return [...this.lines];
	}
}

export interface SupervisedSpec {
	name: string;
	command: string;
	args: string[];
	cwd?: string;
	env?: NodeJS.ProcessEnv;
}

export interface SupervisorOutput {
	/** The supervisor's own messages (restarts, failures). */
	say(line: string): void;
	/** Each complete line a child writes; by default passed through to this process's stdout/stderr. */
	line?(name: string, stream: 'stdout' | 'stderr', line: string): void;
}

export interface ExitInfo {
	code: number | null;
	signal: NodeJS.Signals | null;
	uptimeMs: number;
}

const describeExit = (e: { code: number | null; signal: NodeJS.Signals | null }) =>
	e.signal ? `signal ${e.signal}` : e.code === null ? 'failed to start' : `code ${e.code}`;
const seconds = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);

/**
 * One supervised child. Events: 'spawn' (pid), 'exit' (ExitInfo & RestartDecision, for unexpected exits),
 * 'failing' (lines: string[]), 'healthy' (after each healthyAfterMs of uptime), 'recovered' (healthy after failing).
 */
export class SupervisedProcess extends EventEmitter {
	readonly policy: RestartPolicy;
	private readonly tail: LineRing;
	private proc: ChildProcess | null = null;
	private restartTimer: NodeJS.Timeout | null = null;
	private healthyTimer: NodeJS.Timeout | null = null;
	private stopping = false;
	private exited: Promise<void> = Promise.resolve();
	restarts = 0;

	constructor(
		readonly spec: SupervisedSpec,
		private readonly out: SupervisorOutput,
		rules: RestartRules = DEFAULT_RESTART_RULES,
		tailLines = 20
	) {
		super();
		this.policy = new RestartPolicy(rules);
		this.tail = new LineRing(tailLines);
	}

	get pid(): number | undefined {
		return this.proc?.exitCode === null && this.proc.signalCode === null ? this.proc.pid : undefined;
	}

	lastLines(): string[] {
		return this.tail.get();
	}

	start() {
		if (this.stopping || this.proc) return;
		const { name, command, args, cwd, env } = this.spec;
		const startedAt = Date.now();
		const proc = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
		this.proc = proc;
		let closed!: () => void;
		const streamsClosed = new Promise<void>((r) => (closed = r));
		proc.once('close', () => closed());
		this.pipeLines(proc, 'stdout');
		this.pipeLines(proc, 'stderr');

		let done = false;
		let finished!: () => void;
		this.exited = new Promise<void>((r) => (finished = r));
		const onEnd = (code: number | null, signal: NodeJS.Signals | null) => {
			if (done) return;
			done = true;
			if (this.healthyTimer) clearTimeout(this.healthyTimer);
			this.healthyTimer = null;
			// Let the last lines through the pipes, but do not wait on grandchildren that may still hold them.
			void Promise.race([streamsClosed, new Promise((r) => setTimeout(r, 200))]).then(() => {
				this.proc = null;
				finished();
				if (!this.stopping) this.onUnexpectedExit({ code, signal, uptimeMs: Date.now() - startedAt });
			});
		};
		proc.once('exit', onEnd);
		proc.once('error', (err) => {
			// Only a failed spawn ends a run without 'exit'; later errors (a failed kill) are not exits.
			if (proc.pid === undefined) {
				this.tail.push(`${name} could not be started: ${err.message}`);
				onEnd(null, null);
			}
		});
		if (proc.pid !== undefined) {
			this.emit('spawn', proc.pid);
			this.healthyTimer = setTimeout(() => {
				this.healthyTimer = null;
				const recovered = this.policy.markHealthy();
				this.emit('healthy');
				if (recovered) {
					this.out.say(`${name} has stayed up for ${seconds(this.policy.rules.healthyAfterMs)}; recovered`);
					this.emit('recovered');
				}
			}, this.policy.rules.healthyAfterMs);
			this.healthyTimer.unref();
		}
	}

	/** Stops the child for good: `signal`, then SIGKILL after forceAfterMs. Resolves once it has exited. */
	async stop(signal: NodeJS.Signals = 'SIGTERM', forceAfterMs = 40_000): Promise<void> {
		this.stopping = true;
		if (this.restartTimer) clearTimeout(this.restartTimer);
		this.restartTimer = null;
		if (this.healthyTimer) clearTimeout(this.healthyTimer);
		this.healthyTimer = null;
		const proc = this.proc;
		if (!proc) return;
		if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
		const force = setTimeout(() => proc.kill('SIGKILL'), forceAfterMs);
		await this.exited;
		clearTimeout(force);
	}

	/** Stops the child at once with SIGKILL (a second Ctrl-C). */
	kill() {
		this.stopping = true;
		if (this.restartTimer) clearTimeout(this.restartTimer);
		this.proc?.kill('SIGKILL');
	}

	private onUnexpectedExit(info: ExitInfo) {
		const name = this.spec.name;
		const decision = this.policy.crashed(Date.now());
		this.emit('exit', { ...info, ...decision });
		const how = `${name} exited (${describeExit(info)}) after ${seconds(info.uptimeMs)}`;
		if (decision.becameFailing) {
			const lines = this.tail.get();
			this.out.say(
				`${name} keeps dying: ${decision.crashes} exits within ${seconds(this.policy.rules.failingWindowMs)}, the last with ${describeExit(info)} after ${seconds(info.uptimeMs)}. ` +
					`Its last ${lines.length} lines:\n${lines.map((l) => `    | ${l}`).join('\n')}`
			);
			this.out.say(`${name}: trying again every ${seconds(decision.restartInMs)} while everything else keeps running; fix the cause or press Ctrl-C`);
			this.emit('failing', lines);
		} else if (decision.failing) {
			this.out.say(`${how}; still failing, next try in ${seconds(decision.restartInMs)}`);
		} else {
			this.out.say(`${how}; restarting in ${seconds(decision.restartInMs)}`);
		}
		this.restartTimer = setTimeout(() => {
			this.restartTimer = null;
			if (this.stopping) return;
			this.restarts++;
			this.start();
			if (this.proc?.pid !== undefined) this.out.say(`${name} restarted (pid ${this.proc.pid}, restart ${this.restarts})`);
		}, decision.restartInMs);
	}

	private pipeLines(proc: ChildProcess, stream: 'stdout' | 'stderr') {
		const source = proc[stream];
		if (!source) return;
		source.setEncoding('utf8');
		let partial = '';
		const emitLine = (line: string) => {
			this.tail.push(line);
			if (this.out.line) this.out.line(this.spec.name, stream, line);
			else process[stream].write(line + '\n');
		};
		source.on('data', (chunk: string) => {
			const parts = (partial + chunk).split('\n');
			partial = parts.pop() ?? '';
			for (const line of parts) emitLine(line);
		});
		source.on('end', () => {
			if (partial) emitLine(partial);
			partial = '';
		});
	}
}
