import { log } from './log';

// Outages of PostgreSQL as operators read them: per component (the webhook intake, each worker loop, the job
// queue, the health check), ONE line when it starts, a summary every SUMMARY_EVERY_MS while it lasts (counts, never
// stacks), and one line when it ends. Callers report every failure and every success; only errors that mean "the
// database is unreachable or restarting" (isPostgresUnavailable) open an outage, anything else stays the caller's.

/** How often a running outage is summarised in the log. */
export const SUMMARY_EVERY_MS = 10_000;

// postgres.js's own codes for a lost or refused connection, the socket errors beneath them, and the server's
// "going away" codes: 57P01 admin_shutdown (pg_terminate_backend, a fast shutdown), 57P02 crash_shutdown,
// 57P03 cannot_connect_now (starting up, recovering, shutting down), and class 08 (connection exception).
const CONNECTION_CODES = new Set([
	'CONNECTION_CLOSED',
	'CONNECTION_ENDED',
	'CONNECTION_DESTROYED',
	'CONNECT_TIMEOUT',
	// Our own bound on a query that never settled (boundQuery below): its connection is presumed lost.
	'QUERY_TIMEOUT',
	'ECONNREFUSED',
	'ECONNRESET',
	'EPIPE',
	'ETIMEDOUT',
	'EHOSTUNREACH',
	'ENETUNREACH',
	'EAI_AGAIN',
	'57P01',
	'57P02',
	'57P03'
]);

// node-postgres (pg-boss's driver) reports a connection the server dropped without a code.
const CONNECTION_MESSAGES = /^(Connection terminated( unexpectedly)?|Client has encountered a connection error and is not queryable|timeout exceeded when trying to connect)$/;

/** A query that did not settle within its bound: treated like a lost connection. */
export class QueryTimeoutError extends Error {
	readonly code = 'QUERY_TIMEOUT';
	constructor(what: string, ms: number) {
		super(`${what} did not settle within ${ms} ms`);
	}
}

/**
 * Rejects with a QueryTimeoutError when `query` has not settled within `ms`. A backend killed mid-query can leave
 * a postgres.js query that never settles (see the README's patched dependency); request paths that many callers
 * wait on (the inbox's group commit, the webhook secret lookup) bound it so one such query cannot hold them forever.
 * The query itself runs on; its late result is ignored.
 */
export function boundQuery<T>(query: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timedOut = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new QueryTimeoutError(what, ms)), ms);
	});
	return Promise.race([query, timedOut]).finally(() => clearTimeout(timer));
}

function codeOf(e: unknown): string | undefined {
	const c = (e as { code?: unknown } | null)?.code;
	return typeof c === 'string' ? c : undefined;
}

/**
 * True when `err` (or an error it wraps, drizzle's query errors and AggregateError included) says PostgreSQL is
 * unreachable, restarting or dropped the connection: a transient outage, not a defect.
 */
export function isPostgresUnavailable(err: unknown): boolean {
	const seen = new Set<unknown>();
	const stack: unknown[] = [err];
	while (stack.length > 0) {
		const e = stack.pop();
		if (!e || typeof e !== 'object' || seen.has(e) || seen.size > 10) continue;
		seen.add(e);
		const code = codeOf(e);
		if (code && (CONNECTION_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
		const message = (e as { message?: unknown }).message;
		if (!code && typeof message === 'string' && CONNECTION_MESSAGES.test(message)) return true;
		stack.push((e as { cause?: unknown }).cause);
		const inner = (e as { errors?: unknown }).errors;
		if (Array.isArray(inner)) stack.push(...inner);
	}
	return false;
}

/** A short, stack-free description of an outage error: its code and first line. */
export function describeOutageError(err: unknown): string {
	for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
		const code = codeOf(e);
		if (code && (CONNECTION_CODES.has(code) || /^08/.test(code))) {
			const message = e instanceof Error ? e.message.split('\n')[0] : '';
			return message.includes(code) ? message : `${code}: ${message}`;
		}
	}
	return err instanceof Error ? err.message.split('\n')[0].slice(0, 200) : String(err).slice(0, 200);
}

interface Open {
	since: number;
	count: number;
	firstError: string;
	lastSummaryAt: number;
}

export interface OutageReporterOptions {
	now?: () => number;
	write?: (level: 'warn' | 'info', msg: string, fields: Record<string, unknown>) => void;
}

/** Tracks open outages per component; see the module comment. One per process (`outages`), more in tests. */
export class OutageReporter {
	private readonly open = new Map<string, Open>();
	private readonly units = new Map<string, string>();
	private timer: NodeJS.Timeout | null = null;
	private readonly now: () => number;
	private readonly write: NonNullable<OutageReporterOptions['write']>;

	constructor(opts: OutageReporterOptions = {}) {
		this.now = opts.now ?? Date.now;
		this.write = opts.write ?? ((level, msg, fields) => log[level](msg, fields));
	}

	/**
	 * Counts one failure of `component` (what `unit` names: "webhooks answered 503", "failed rounds"). Returns
	 * false, logging nothing, when `err` is not an outage: the caller handles it as before.
	 */
	reportFailure(component: string, err: unknown, unit = 'failures'): boolean {
		if (!isPostgresUnavailable(err)) return false;
		this.units.set(component, unit);
		const hit = this.open.get(component);
		if (hit) {
			hit.count++;
			return true;
		}
		const now = this.now();
		const error = describeOutageError(err);
		this.open.set(component, { since: now, count: 1, firstError: error, lastSummaryAt: now });
		this.write('warn', `${component}: postgres unavailable (${error})`, { component, outage: 'start' });
		this.startTimer();
		return true;
	}

	/** Ends `component`'s outage, if one is open, with one line. Cheap when none is. */
	reportSuccess(component: string): void {
		const o = this.open.get(component);
		if (!o) return;
		this.open.delete(component);
		const seconds = Math.round((this.now() - o.since) / 1000);
		this.write('info', `${component}: postgres available again after ${seconds} s; ${this.counted(component, o.count)} meanwhile`, {
			component,
			outage: 'end',
			seconds,
			count: o.count
		});
		if (this.open.size === 0) this.stopTimer();
	}

	/** Components whose outage is open now, with how long and how many failures (for /healthz). */
	current(): Record<string, { downForSeconds: number; count: number; error: string }> {
		const now = this.now();
		return Object.fromEntries(
			[...this.open].map(([c, o]) => [c, { downForSeconds: Math.round((now - o.since) / 1000), count: o.count, error: o.firstError }])
		);
	}

	/** Writes the summary of each outage that has lasted another SUMMARY_EVERY_MS (driven by a timer; public for tests). */
	summarise(): void {
		const now = this.now();
		for (const [component, o] of this.open) {
			if (now - o.lastSummaryAt < SUMMARY_EVERY_MS) continue;
			o.lastSummaryAt = now;
			const seconds = Math.round((now - o.since) / 1000);
			this.write('warn', `${component}: postgres unavailable for ${seconds} s: ${this.counted(component, o.count)}`, {
				component,
				outage: 'ongoing',
				seconds,
				count: o.count
			});
		}
	}

	private counted(component: string, n: number): string {
		return `${n.toLocaleString('en-US')} ${this.units.get(component) ?? 'failures'}`;
	}

	private startTimer(): void {
		if (this.timer) return;
		this.timer = setInterval(() => this.summarise(), 1000);
		this.timer.unref();
	}

	private stopTimer(): void {
		if (this.timer) clearInterval(this.timer);
		this.timer = null;
	}
}

/** The process's reporter. */
export const outages = new OutageReporter();
export const reportFailure = (component: string, err: unknown, unit?: string) => outages.reportFailure(component, err, unit);
export const reportSuccess = (component: string) => outages.reportSuccess(component);
