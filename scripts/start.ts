// `npm start`: stores → migrations → demo seed → build → emulators + web + worker. Each of those four is supervised
// (scripts/lib/supervisor.ts): one that exits unexpectedly is restarted with backoff. Ctrl-C stops what it started.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SupervisedProcess } from './lib/supervisor';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const say = (m: string) => console.log(`[start] ${m}`);
const children: SupervisedProcess[] = [];
let storesStartedHere = false;
let shuttingDown = false;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
	const r = spawnSync(cmd, args, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
	if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

function startChild(name: string, args: string[], env: NodeJS.ProcessEnv) {
	const child = new SupervisedProcess(
		{ name, command: process.execPath, args, cwd: root, env },
		{ say: (m) => console.error(`[start] ${m}`) }
	);
	child.start();
	children.push(child);
}

async function shutdown(code: number) {
	if (shuttingDown) return;
	shuttingDown = true;
	say('stopping…');
	// Each child gets its graceful stop (the worker finishes in-flight jobs), then SIGKILL after 40 s.
	await Promise.all(children.toReversed().map((c) => c.stop('SIGTERM', 40_000)));
	if (storesStartedHere) run('bash', ['scripts/stores.sh', 'down']);
	say('stopped');
	process.exit(code);
}

let firstSignalAt = 0;
function onSignal() {
	if (!shuttingDown) {
		firstSignalAt = Date.now();
		return void shutdown(0);
	}
	// Under `npm start` one Ctrl-C arrives twice (from the terminal and passed on by npm): only a second press,
	// a moment later, means "do not wait for graceful stops".
	if (Date.now() - firstSignalAt < 2000) return;
	say('stopping now');
	for (const c of children) c.kill();
	process.exit(130);
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
	process.on('SIGINT', onSignal);
	process.on('SIGTERM', onSignal);

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
  A process that exits unexpectedly is restarted (logged here as [start]).
  Press Ctrl-C to stop everything this command started.
`);
}

main().catch((err) => {
	console.error(`[start] failed: ${err instanceof Error ? err.message : String(err)}`);
	void shutdown(1);
});
