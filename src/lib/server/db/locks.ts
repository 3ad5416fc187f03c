import type postgres from 'postgres';

// Every PostgreSQL advisory-lock id the app takes, and the one helper that holds a session lock. Ids share one
// range (7263541…) so they cannot collide with each other or with pg-boss's own locks.

export const LOCK_IDS = {
	/** One migrator per database at a time (start script, test setup, CI). */
	migrate: 7263541,
	/** Class of the transaction locks on conversation ids (two-int form, with hashtext(conversation_id)). */
	conversation: 7263542,
	/** The one outbox relay across all workers. */
	relay: 7263543,
	/** The one inbox processor loop across all workers. */
	processor: 7263544,
	/** Class of the per-connection polling sync locks (two-int form, with hashtext(connection_id)). */
	connectionSync: 7263545
} as const;

/** A session lock: one id, or a class id plus a text hashed into the second key (`pg_advisory_lock(id, hashtext(sub))`). */
export interface SessionLockKey {
	id: number;
	sub?: string;
}

export interface SessionLockOptions {
	/** How long to keep trying before giving up (0: one try). */
	waitMs?: number;
	/** Stops waiting early. */
	signal?: AbortSignal;
	/** Pause between tries. */
	retryMs?: number;
}

/**
 * Runs `fn` while holding a session advisory lock on a connection reserved from `sql` for the whole run (so the lock
 * goes with the connection if the process dies). `{ ran: false }` if the lock stayed busy for `waitMs`.
 * The pool must have a connection to spare beside the reserved one if `fn` uses the same pool.
 */
export async function withSessionLock<T>(
	sql: postgres.Sql,
	key: SessionLockKey,
	opts: SessionLockOptions,
	fn: () => Promise<T>
): Promise<{ ran: true; value: T } | { ran: false }> {
	const conn = await sql.reserve();
	try {
		const until = Date.now() + (opts.waitMs ?? 0);
		for (;;) {
			const [{ ok }] =
				key.sub === undefined
					? await conn<{ ok: boolean }[]>`select pg_try_advisory_lock(${key.id}) as ok`
					: await conn<{ ok: boolean }[]>`select pg_try_advisory_lock(${key.id}, hashtext(${key.sub})) as ok`;
			if (ok) break;
			if (Date.now() >= until || opts.signal?.aborted) return { ran: false };
			await pause(opts.retryMs ?? 250, opts.signal);
		}
		try {
			return { ran: true, value: await fn() };
		} finally {
			const unlock = key.sub === undefined ? conn`select pg_advisory_unlock(${key.id})` : conn`select pg_advisory_unlock(${key.id}, hashtext(${key.sub}))`;
			await unlock.catch(() => {});
		}
	} finally {
		conn.release();
	}
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve) => {
		const done = () => {
			clearTimeout(timer);
			signal?.removeEventListener('abort', done);
			resolve();
		};
		const timer = setTimeout(done, ms);
		signal?.addEventListener('abort', done, { once: true });
	});
}
