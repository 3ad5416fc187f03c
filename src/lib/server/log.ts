// Minimal structured logger: one JSON line per event on stderr so web and worker logs read alike.
type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const threshold = order[(process.env.LOG_LEVEL as Level) ?? 'info'] ?? 20;

function write(level: Level, msg: string, fields?: Record<string, unknown>) {
	if (order[level] < threshold) return;
	const line: Record<string, unknown> = { t: new Date().toISOString(), level, msg, ...fields };
	if (fields?.err instanceof Error) line.err = { message: fields.err.message, stack: fields.err.stack };
	process.stderr.write(JSON.stringify(line) + '\n');
}

export const log = {
	debug: (msg: string, f?: Record<string, unknown>) => write('debug', msg, f),
	info: (msg: string, f?: Record<string, unknown>) => write('info', msg, f),
	warn: (msg: string, f?: Record<string, unknown>) => write('warn', msg, f),
	error: (msg: string, f?: Record<string, unknown>) => write('error', msg, f)
};
