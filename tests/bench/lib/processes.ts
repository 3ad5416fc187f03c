import { fork, spawn, type ChildProcess, type ForkOptions, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';

// Child processes of a benchmark: every one is registered, and stopAllChildren() ends them (SIGTERM, then SIGKILL
// after a grace period) so a run leaves nothing behind, even when it fails half-way or is interrupted.

const children = new Set<ChildProcess>();

function track(child: ChildProcess, name: string): ChildProcess {
	children.add(child);
	child.once('exit', () => children.delete(child));
	child.once('error', (err) => console.error(`[bench] ${name}: ${err.message}`));
	return child;
}

/** Starts `node <args>` (e.g. the built app, or `--import tsx worker.ts`). */
export function spawnNode(name: string, args: string[], opts: SpawnOptions): ChildProcess {
	return track(spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts }), name);
}

/** Starts a TypeScript module with an IPC channel (load generator, reference servers). */
export function forkTs(name: string, modulePath: string, opts: ForkOptions = {}): ChildProcess {
	return track(fork(modulePath, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...opts }), name);
}

export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return;
	const exited = new Promise<void>((r) => child.once('exit', () => r()));
	child.kill('SIGTERM');
	const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
	await exited;
	clearTimeout(timer);
}

/** Stops every child still running, in parallel, bounded by `graceMs` (then SIGKILL). */
export async function stopAllChildren(graceMs = 15_000): Promise<void> {
	await Promise.all([...children].map((c) => stopChild(c, graceMs)));
}

export function freePort(): Promise<number> {
	return new Promise((res, rej) => {
		const s = createServer();
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address() as { port: number };
			s.close(() => res(port));
		});
		s.on('error', rej);
	});
}

/** Waits until `url` answers at all (any status), or the child dies, or `ms` pass. */
export async function waitForHttp(url: string, ms: number, child?: ChildProcess): Promise<void> {
	const until = Date.now() + ms;
	while (Date.now() < until) {
		if (child && child.exitCode !== null) throw new Error(`${url}: the process exited (${child.exitCode}) before answering`);
		try {
			await fetch(url, { signal: AbortSignal.timeout(2000) });
			return;
		} catch {
			/* not up yet */
		}
		await sleep(200);
	}
	throw new Error(`${url} did not answer within ${ms} ms`);
}

/** Resolves with the first IPC message of `type` from `child`; rejects if it exits first or `ms` pass. */
export function nextMessage<T extends { type: string }>(child: ChildProcess, type: T['type'], ms: number): Promise<T> {
	return new Promise((resolve, reject) => {
		const onMessage = (m: unknown) => {
			if ((m as { type?: string })?.type !== type) return;
			cleanup();
			resolve(m as T);
		};
		const onExit = (code: number | null) => {
			cleanup();
			reject(new Error(`child exited (${code}) before sending ${type}`));
		};
		const timer = setTimeout(() => {
			cleanup();
			reject(new Error(`no ${type} from child within ${ms} ms`));
		}, ms);
		const cleanup = () => {
			clearTimeout(timer);
			child.off('message', onMessage);
			child.off('exit', onExit);
		};
		child.on('message', onMessage);
		child.once('exit', onExit);
	});
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
