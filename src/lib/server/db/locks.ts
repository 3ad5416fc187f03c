import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type postgres from 'postgres';
import { unsafeQuery, type DbOrTx } from './client';

// Every PostgreSQL advisory-lock id the app takes, the one helper that holds a session lock, and fenced leases on
// top of it. Ids share one range (7263541…) so they cannot collide with each other or with pg-boss's own locks.
//
// A session advisory lock lives and dies with its connection: when PostgreSQL restarts, or the backend is
// terminated, the lock is gone at once and another process may take it, while the old holder's process keeps
// running its loop. Two defences, both needed:
// - the holder watches its reserved connection (a probe every LOCK_WATCH_MS) and aborts `signal` when it closes,
//   so loops stop promptly;
// - fencing (withLease): taking the lock bumps the lease row's epoch, and every unit of work under the lease runs
//   `fence(tx)` inside its own transaction: `select epoch from lease where name = … for share`. The lease is lost
//   if the epoch is no longer ours, so the old holder's next transaction stops before it changes anything; and a
//   new holder's epoch bump (an UPDATE of that row) waits for the old holder's in-flight transactions to commit or
//   roll back, so their work never overlaps (a probe alone could not promise that: the lock can be lost between
//   two probes).

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

/** How often a held session lock's connection is probed, so a lost lock is noticed within about this long. */
export const LOCK_WATCH_MS = 1000;

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
	/** Probe interval of the held lock's connection (LOCK_WATCH_MS). */
	watchMs?: number;
}

/** What `fn` gets while it holds a session lock. */
export interface HeldLock {
	/** Aborted (reason: LeaseLostError) once the lock's connection has closed: the lock is gone. */
	signal: AbortSignal;
}

/** The lock or lease was lost (its connection closed, or another holder took it since): stop working under it. */
export class LeaseLostError extends Error {
	override name = 'LeaseLostError';
	readonly code = 'LEASE_LOST';
}

/**
 * Runs `fn` while holding a session advisory lock on a connection reserved from `sql` for the whole run (so the lock
 * goes with the connection if the process dies). `{ ran: false }` if the lock stayed busy for `waitMs`.
 * The pool must have a connection to spare beside the reserved one if `fn` uses the same pool. `held.signal` aborts
 * when the connection closes; `fn` should stop then (its promise is still awaited).
 */
export async function withSessionLock<T>(
	sql: postgres.Sql,
	key: SessionLockKey,
	opts: SessionLockOptions,
	fn: (held: HeldLock & { conn: postgres.ReservedSql }) => Promise<T>
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
		const lost = new AbortController();
		const watch = watchConnection(conn, opts.watchMs ?? LOCK_WATCH_MS, () => lost.abort(new LeaseLostError('the session lock connection closed')));
		try {
			return { ran: true, value: await fn({ signal: lost.signal, conn }) };
		} finally {
			watch.stop();
			if (!lost.signal.aborted) {
				const unlock = key.sub === undefined ? conn`select pg_advisory_unlock(${key.id})` : conn`select pg_advisory_unlock(${key.id}, hashtext(${key.sub}))`;
				await unlock.catch(() => {});
			}
		}
	} finally {
		// A closed reserved connection stays closed on release (patches/postgres+3.4.9.patch), so the pool reconnects
		// it rather than handing out a dead socket.
		conn.release();
	}
}

/**
 * Probes `conn` every `everyMs` and calls `onClosed` once when a probe fails (postgres.js rejects queries on a
 * reserved connection whose socket closed; it never silently reconnects one).
 */
function watchConnection(conn: postgres.ReservedSql, everyMs: number, onClosed: () => void): { stop(): void } {
	let stopped = false;
	let timer: NodeJS.Timeout | null = null;
	const tick = () => {
		timer = null;
		conn`select 1`.then(
			() => {
				if (!stopped) timer = setTimeout(tick, everyMs);
			},
			() => {
				if (!stopped) onClosed();
			}
		);
	};
	timer = setTimeout(tick, everyMs);
	return {
		stop() {
			stopped = true;
			if (timer) clearTimeout(timer);
		}
	};
}

/** A fenced lease held by this process (see the module comment). */
export interface Lease extends HeldLock {
	/** The lease row's name ('relay', 'processor', …). */
	name: string;
	/** This holder's epoch: every acquisition gets a larger one. */
	epoch: number;
	/** Who holds it (host, pid, random suffix), as stored on the lease row. */
	holder: string;
	/**
	 * Call first inside each transaction that does work under the lease. Throws LeaseLostError if another holder
	 * took the lease since (or the lock's connection closed); otherwise holds the lease row FOR SHARE until the
	 * transaction ends, so a new holder cannot take over while this transaction's work is in flight.
	 */
	fence(tx: DbOrTx): Promise<void>;
	/** The same check without a transaction: for work outside PostgreSQL (a ClickHouse insert), right before it. */
	check(db: DbOrTx): Promise<void>;
}

const leaseNames: Record<number, string> = Object.fromEntries(Object.entries(LOCK_IDS).map(([name, id]) => [id, name]));

/**
 * Runs `fn` holding the fenced lease on `id` (a LOCK_IDS value): the session lock, then the lease row's epoch bumped
 * on the lock's connection. `null` if the lock stayed busy for `waitMs`. A lost lease shows as `lease.signal`
 * aborting and as `fence`/`check` throwing LeaseLostError.
 */
export async function withLease<T>(
	sql: postgres.Sql,
	id: number,
	opts: SessionLockOptions,
	fn: (lease: Lease) => Promise<T>
): Promise<{ ran: true; value: T } | { ran: false }> {
	const name = leaseNames[id] ?? String(id);
	return withSessionLock(sql, { id }, opts, async ({ signal, conn }) => {
		const holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
		// Waits for transactions of an earlier holder that still hold the row FOR SHARE; they commit first.
		const [{ epoch }] = await conn<{ epoch: string }[]>`
			insert into lease (name, epoch, holder, acquired_at) values (${name}, 1, ${holder}, now())
			on conflict (name) do update set epoch = lease.epoch + 1, holder = excluded.holder, acquired_at = now()
			returning epoch`;
		const mine = Number(epoch);
		const verify = async (db: DbOrTx, lock: boolean) => {
			if (signal.aborted) throw new LeaseLostError(`lease ${name} lost: its connection closed`);
			const rows = await unsafeQuery<{ epoch: string }>(db, `select epoch from lease where name = $1${lock ? ' for share' : ''}`, [name]);
			if (rows.length === 0 || Number(rows[0].epoch) !== mine) {
				throw new LeaseLostError(`lease ${name} lost: epoch ${mine} superseded by ${rows[0]?.epoch ?? 'none'}`);
			}
		};
		return fn({ name, epoch: mine, holder, signal, fence: (tx) => verify(tx, true), check: (db) => verify(db, false) });
	});
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
