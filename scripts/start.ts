// `npm start`: stores → migrations → demo seed → build → emulators + web + worker. Ctrl-C stops what it started.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const say = (m: string) => console.log(`[start] ${m}`);
const children: { name: string; proc: ChildProcess }[] = [];
let storesStartedHere = false;
let shuttingDown = false;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
	const r = spawnSync(cmd, args, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
	if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

function startChild(name: string, args: string[], env: NodeJS.ProcessEnv) {
	const proc = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
	proc.on('exit', (code, signal) => {
		if (shuttingDown) return;
		console.error(`[start] ${name} exited (${signal ?? code}); stopping everything`);
		void shutdown(1);
	});
	children.push({ name, proc });
}

async function shutdown(code: number) {
	if (shuttingDown) return;
	shuttingDown = true;
	say('stopping…');
	for (const { proc } of children.toReversed()) if (proc.exitCode === null) proc.kill('SIGTERM');
	// Give each child its graceful stop (the worker finishes in-flight jobs), then make sure nothing lingers.
	const force = setTimeout(() => children.forEach(({ proc }) => proc.exitCode === null && proc.kill('SIGKILL')), 40_000);
	await Promise.all(children.map(({ proc }) => new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r)))));
	clearTimeout(force);
	if (storesStartedHere) run('bash', ['scripts/stores.sh', 'down']);
	say('stopped');
	process.exit(code);
}

function appSecret(): string {
	if (process.env.APP_SECRET) return process.env.APP_SECRET;
	// A stable local secret, so sealed upstream secrets stay readable across restarts.
	const file = resolve(root, '.data/app-secret');
	if (!existsSync(file)) {
		mkdirSync(dirname(file), { recursive: true });
		writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
	}
	return readFileSync(file, 'utf8').trim();
}

async function main() {
	process.once('SIGINT', () => void shutdown(0));
	process.once('SIGTERM', () => void shutdown(0));

	const port = Number(process.env.PORT ?? 3000);
	const env: NodeJS.ProcessEnv = {
		...process.env,
		PORT: String(port),
		NODE_ENV: process.env.NODE_ENV ?? 'production',
		// adapter-node's default 512 KB would refuse post_call_audio webhooks before the endpoint's own limits.
		BODY_SIZE_LIMIT: process.env.BODY_SIZE_LIMIT ?? '60M'
	};
	if (!env.DATABASE_URL || !env.CLICKHOUSE_URL) {
		storesStartedHere = spawnSync('bash', ['scripts/stores.sh', 'status'], { cwd: root, encoding: 'utf8' }).stdout.includes('down');
		run('bash', ['scripts/stores.sh', 'up']);
		env.DATABASE_URL ??= `postgres://postgres@127.0.0.1:${process.env.VOXCALLS_PG_PORT ?? 55432}/voxcalls`;
		env.CLICKHOUSE_URL ??= `http://127.0.0.1:${process.env.VOXCALLS_CH_HTTP_PORT ?? 58123}/voxcalls`;
	}
	env.APP_SECRET = appSecret();
	env.ORIGIN ??= `http://localhost:${port}`;
	const emulatorPort = Number(process.env.ELEVENLABS_EMULATOR_PORT ?? 8790);
	const twilioPort = Number(process.env.TWILIO_EMULATOR_PORT ?? 8791);
	env.ELEVENLABS_BASE_URL ??= `http://127.0.0.1:${emulatorPort}`;
	env.TWILIO_BASE_URL ??= `http://127.0.0.1:${twilioPort}`;
	Object.assign(process.env, env);

	say('migrating PostgreSQL and ClickHouse');
	run(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts'], env);

	say('seeding the demo tenant');
	const { seedDemoProduct } = await import('../src/lib/server/services/demo/product');
	const { emulatedCallers } = await import('../src/emulators/elevenlabs/callers');
	const demo = await seedDemoProduct({
		emulatorBaseUrl: env.ELEVENLABS_BASE_URL!,
		origin: `http://127.0.0.1:${port}`,
		// The emulator below replays this sequence (same seed, same agents), so demo recipients are among its callers.
		emulatorCallers: (agents) => emulatedCallers({ seed: Number(env.ELEVENLABS_EMULATOR_SEED ?? 1), agents, count: 400 })
	});

	say('building the web app');
	run('npx', ['vite', 'build', '--logLevel', 'warn'], env);

	startChild('ElevenLabs emulator', ['--import', 'tsx', 'src/emulators/elevenlabs/main.ts'], {
		...env,
		ELEVENLABS_EMULATOR_PORT: String(emulatorPort),
		ELEVENLABS_EMULATOR_API_KEY: demo.apiKey,
		ELEVENLABS_EMULATOR_WEBHOOK_SECRET: demo.webhookSecret,
		ELEVENLABS_EMULATOR_WEBHOOK_URLS: demo.webhookUrl,
		ELEVENLABS_EMULATOR_AGENTS: demo.emulatorAgents,
		ELEVENLABS_EMULATOR_CALL_INTERVAL_MS: process.env.ELEVENLABS_EMULATOR_CALL_INTERVAL_MS ?? '4000'
	});
	startChild('Twilio emulator', ['--import', 'tsx', 'src/emulators/twilio/main.ts'], {
		...env,
		TWILIO_EMULATOR_PORT: String(twilioPort),
		TWILIO_EMULATOR_ACCOUNT_SID: demo.twilioAccountSid,
		TWILIO_EMULATOR_AUTH_TOKEN: demo.twilioAuthToken
	});
	startChild('worker', ['--import', 'tsx', 'src/lib/server/jobs/worker.ts'], env);
	startChild('web', ['--import', 'tsx', 'src/lib/server/web-server.ts'], { ...env, HOST: '0.0.0.0' });

	console.log(`
  VoxCalls is running at ${env.ORIGIN}
    sign in as ${demo.signIns.map((s) => `${s.email} / ${s.password} (${s.what})`).join('\n             ')}
    health:   ${env.ORIGIN}/healthz
    emulated ElevenLabs at ${env.ELEVENLABS_BASE_URL} sends a call every few seconds to the demo tenant.
  Press Ctrl-C to stop everything this command started.
`);
}

main().catch((err) => {
	console.error(`[start] failed: ${err instanceof Error ? err.message : String(err)}`);
	void shutdown(1);
});
