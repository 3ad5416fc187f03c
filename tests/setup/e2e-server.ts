import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { eventually } from './eventually';
import { testEnv } from './test-env';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

declare module 'vitest' {
	export interface ProvidedContext {
		baseUrl: string;
	}
}

function freePort(): Promise<number> {
	return new Promise((res, rej) => {
		const s = createServer();
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address() as { port: number };
			s.close(() => res(port));
		});
		s.on('error', rej);
	});
}

// Any answer means the server is up; the tests themselves judge what it says.
const waitFor = (url: string, ms: number) => eventually(() => fetch(url), { what: `${url} to answer`, timeoutMs: ms, intervalMs: 250 });

// Builds the app once and serves it (with a worker) against the test stores for the browser tests.
export default async function setup(project: TestProject) {
	if (!existsSync('/usr/bin/chromium')) throw new Error('chromium is missing: run `bash scripts/test.sh` (it installs Debian chromium)');
	if (process.env.E2E_SKIP_BUILD !== '1') execFileSync('npx', ['vite', 'build', '--logLevel', 'error'], { cwd: root, stdio: 'inherit' });
	const port = await freePort();
	const baseUrl = `http://127.0.0.1:${port}`;
	const env = { ...process.env, ...testEnv(), PORT: String(port), ORIGIN: baseUrl, HOST: '127.0.0.1', BODY_SIZE_LIMIT: '60M',
		// Every browser test signs in from 127.0.0.1; the per-account limit is what the throttle test exercises.
		SIGN_IN_MAX_ATTEMPTS_PER_IP: '1000' };
	const children: ChildProcess[] = [
		spawn(process.execPath, ['--import', 'tsx', 'src/lib/server/web-server.ts'], { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] }),
		spawn(process.execPath, ['--import', 'tsx', 'src/lib/server/jobs/worker.ts'], { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] })
	];
	const stop = async () => {
		for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
		await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
	};
	try {
		await waitFor(`${baseUrl}/healthz`, 60_000);
	} catch (err) {
		await stop();
		throw err;
	}
	project.provide('baseUrl', baseUrl);
	return stop;
}
