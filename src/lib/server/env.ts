import { z } from 'zod';

// One validated configuration for web, worker and scripts. Read from process.env so the worker and
// scripts (run by tsx, outside SvelteKit) share it with the web app.
const url = (what: string) =>
	z.string({ error: `expected ${what}` }).trim().min(1, `expected ${what}`).pipe(z.url({ error: `expected ${what}` }));

const EnvSchema = z.object({
	NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
	DATABASE_URL: url('a postgres:// URL, e.g. postgres://postgres@127.0.0.1:55432/voxcalls').refine(
		(v) => /^postgres(ql)?:\/\//.test(v),
		'expected a postgres:// URL'
	),
	CLICKHOUSE_URL: url('an http(s) URL whose path names the database, e.g. http://127.0.0.1:58123/voxcalls').refine(
		(v) => /^https?:\/\/[^/]+\/[A-Za-z0-9_]+\/?$/.test(v),
		'expected an http(s) URL whose path names the database, e.g. http://127.0.0.1:58123/voxcalls'
	),
	APP_SECRET: z
		.string({ error: 'expected at least 32 characters of random text (openssl rand -hex 32)' })
		.min(32, 'expected at least 32 characters of random text (openssl rand -hex 32)'),
	ORIGIN: url('the public origin of the web app, e.g. http://localhost:3000'),
	PORT: z.coerce.number().int().min(1).max(65535).default(3000),
	ELEVENLABS_BASE_URL: url('the ElevenLabs API base URL').default('https://api.elevenlabs.io'),
	TWILIO_BASE_URL: url('the Twilio API base URL').default('https://api.twilio.com'),
	WEBHOOK_MAX_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
	WEBHOOK_AUDIO_MAX_BYTES: z.coerce.number().int().min(1024).default(50 * 1_048_576),
	AUDIO_STORAGE_DIR: z.string().min(1).default('.data/audio'),
	// Recipient CSV uploads wait here (streamed to disk, never held in memory) until their import job has run.
	UPLOAD_STORAGE_DIR: z.string().min(1).default('.data/uploads'),
	RECIPIENT_UPLOAD_MAX_BYTES: z.coerce.number().int().min(1024).default(512 * 1_048_576),
	POLL_INTERVAL_MINUTES: z.coerce.number().int().min(1).max(60).default(5),
	OUTBOX_BATCH_ROWS: z.coerce.number().int().min(1).max(100_000).default(5000),
	OUTBOX_BATCH_MS: z.coerce.number().int().min(10).max(60_000).default(250),
	INBOX_BURST_RATE: z.coerce.number().int().min(1).default(1000),
	INBOX_BURST_PROCESSING_SHARE: z.coerce.number().gt(0).max(1).default(0.1),
	INBOX_MAX_LAG_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
	SIGN_IN_THROTTLE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
	SIGN_IN_MAX_ATTEMPTS_PER_ACCOUNT: z.coerce.number().int().min(1).max(1000).default(5),
	SIGN_IN_MAX_ATTEMPTS_PER_IP: z.coerce.number().int().min(1).max(100_000).default(30),
	TRACKING_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(10_000_000).default(120),
	LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info')
});

export type Env = z.infer<typeof EnvSchema>;

export class ConfigError extends Error {
	override name = 'ConfigError';
}

/** Parses a raw environment; throws a ConfigError naming every bad variable and what it expects. */
export function parseEnv(raw: Record<string, string | undefined>): Env {
	// Empty strings count as missing so `.env` templates with blank values fail loudly.
	const cleaned = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''));
	const result = EnvSchema.safeParse(cleaned);
	if (result.success) return result.data;
	const lines = result.error.issues.map((i) => {
		const name = String(i.path[0] ?? '?');
		const got = cleaned[name] === undefined ? 'missing' : 'malformed';
		return `  ${name} (${got}): ${i.message}`;
	});
	throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}\nSee .env.example for every variable.`);
}

let cached: Env | undefined;

/** The process configuration, validated once. */
export function env(): Env {
	cached ??= parseEnv(process.env);
	return cached;
}

/** ClickHouse URL split into the server URL and database name. */
export function clickhouseTarget(e: Env = env()): { url: string; database: string } {
	const u = new URL(e.CLICKHOUSE_URL);
	const database = u.pathname.replace(/^\/|\/$/g, '');
	u.pathname = '/';
	return { url: u.toString().replace(/\/$/, ''), database };
}
