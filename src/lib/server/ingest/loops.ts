import type { ClickHouseClient } from '@clickhouse/client';
import type postgres from 'postgres';
import { INBOX_CHANNEL, OUTBOX_CHANNEL, QUARANTINE_CHANNEL } from '../db/channels';
import type { DbHandle, Tx } from '../db/client';
import { LOCK_IDS, LeaseLostError, withLease, type Lease } from '../db/locks';
import { log } from '../log';
import { reportFailure, reportSuccess } from '../outage';
import type { IngestCtx } from './context';
import { IntakePriority, REST_SLICE_MS, type IntakePriorityOptions } from './intake-priority';
import { processInboxBatch, pruneProcessedInbox } from './processor';
import { isConnectionRefused, relayOutboxBatchToClickHouse } from './relay';
import { IngestionErrorRecorder, pruneIngestionErrors } from './status';

// Long-running drivers for the worker. Each runs for a bounded time inside one pg-boss job (so a graceful stop
// waits at most that long), holds a PostgreSQL session lock while it runs (one processor loop and one relay
// across all workers; a dead worker's lock goes with its connection), sleeps on LISTEN with a short poll as a
// fallback, and never throws for a failed round: it records the error, backs off and carries on.

let shutdown: AbortController | undefined;
/**
 * Aborted when the process is asked to stop (SIGTERM/SIGINT), so a running loop ends its run at once and the
 * worker's graceful stop does not wait out the rest of it. (pg-boss 10 gives handlers no abort signal.)
 */
export function processShutdownSignal(): AbortSignal {
	if (!shutdown) {
		const c = (shutdown = new AbortController());
		for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => c.abort());
	}
	return shutdown.signal;
}

export interface LoopDeps {
	db: DbHandle;
}

export interface InboxLoopDeps extends LoopDeps {
	/**
	 * Releases one batch of quarantined conversations whose agent got mapped; returns how many. The quarantine
	 * service's verb, passed in by the adapter (the loop sweeps when woken on QUARANTINE_CHANNEL, and every 30 s).
	 */
	releaseQuarantined?: (ctx: IngestCtx) => Promise<number>;
}

export interface LoopOptions {
	/** How long this run lasts. */
	durationMs: number;
	/** How long to wait for another run's lease before giving up (it is then that run's job). */
	waitForLeaseMs?: number;
	/** Called once the lease is held, e.g. to queue the successor job. */
	onLease?: () => Promise<void> | void;
	/** Stops the loop early (tests, shutdown). */
	signal?: AbortSignal;
}

export interface LoopReport {
	ran: boolean;
	rounds: number;
	items: number;
	errors: number;
	/** Time the inbox processor rested to give a burst of deliveries the machine (intake-priority.ts). */
	restedMs: number;
}

/** A wake-up latch: notify() ends the current (or next) wait early. */
class Wakeup {
	private pending = false;
	private resolve: (() => void) | null = null;
	notify() {
		if (this.resolve) {
			const r = this.resolve;
			this.resolve = null;
			r();
		} else this.pending = true;
	}
	wait(ms: number, signal?: AbortSignal): Promise<void> {
		if (this.pending || signal?.aborted) {
			this.pending = false;
			return Promise.resolve();
		}
		return new Promise<void>((resolve) => {
			const done = () => {
				clearTimeout(timer);
				signal?.removeEventListener('abort', done);
				this.resolve = null;
				resolve();
			};
			const timer = setTimeout(done, ms);
			signal?.addEventListener('abort', done, { once: true });
			this.resolve = done;
		});
	}
}

const sleep = (ms: number, signal?: AbortSignal) => new Wakeup().wait(ms, signal);

async function listen(sql: postgres.Sql, channels: string[], onNotify: (channel: string) => void) {
	const subs = await Promise.all(channels.map((c) => sql.listen(c, () => onNotify(c))));
	return () => Promise.all(subs.map((s) => s.unlisten().catch(() => {})));
}

function backoff(failures: number) {
	return Math.min(10_000, 250 * 2 ** Math.min(failures, 6));
}

/** What a loop body sees while it holds its lease: the lease, and a signal that ends its work (lost lease, stop, run over). */
interface LeaseTerm {
	lease: Lease;
	signal: AbortSignal;
	end: number;
}

/**
 * Runs `body` under the fenced lease `id` until `opts.durationMs` is over or `opts.signal` aborts. The first
 * acquisition waits `waitForLeaseMs` (another worker's run holds it: then it is that run's job, `ran` stays false).
 * A lease lost mid-run (PostgreSQL restarted, the backend terminated) ends `body` at once through its signal and its
 * fence; the run then takes the lease again with a new epoch as soon as PostgreSQL answers, backing off meanwhile,
 * unless another worker took it first. Outage errors go to the outage reporter under `component`.
 */
async function runUnderLease(
	sql: postgres.Sql,
	id: number,
	component: string,
	opts: LoopOptions,
	report: LoopReport,
	body: (term: LeaseTerm) => Promise<void>
): Promise<void> {
	const end = Date.now() + opts.durationMs;
	// Until the lease is first held, a busy lock is waited for this long in all (failed tries during an outage
	// included): the run that holds it may be ending. Once held and lost, a busy lock means another run took over.
	const waitUntil = Date.now() + (opts.waitForLeaseMs ?? 10_000);
	let leaseAnnounced = false;
	let failures = 0;
	while (Date.now() < end && !opts.signal?.aborted) {
		try {
			const waitMs = report.ran ? 0 : Math.max(0, Math.min(waitUntil, end) - Date.now());
			const r = await withLease(sql, id, { waitMs, signal: opts.signal }, async (lease) => {
				report.ran = true;
				failures = 0;
				if (!leaseAnnounced) {
					await opts.onLease?.();
					leaseAnnounced = true;
				}
				const stop = new AbortController();
				const signals = [lease.signal, stop.signal, ...(opts.signal ? [opts.signal] : [])];
				const timer = setTimeout(() => stop.abort(), Math.max(0, end - Date.now()));
				try {
					await body({ lease, signal: AbortSignal.any(signals), end });
				} finally {
					clearTimeout(timer);
				}
			});
			// Busy: another worker's run holds the lease (first try), or took it after ours was lost.
			if (!r.ran) return;
		} catch (err) {
			if (!(err instanceof LeaseLostError) && !reportFailure(component, err, 'failed rounds')) throw err;
			failures++;
			// Short: taking the lease again is one connection attempt, and the loop's work waits for it.
			await sleep(Math.min(2_000, backoff(failures)), opts.signal);
		}
	}
}

/** A lost lease, or an outage that the reporter took: the round's error is already accounted for. */
function handledAsOutage(component: string, err: unknown, signal: AbortSignal): boolean {
	if (err instanceof LeaseLostError || signal.aborted) return true;
	return reportFailure(component, err, 'failed rounds');
}

/** The inbox processor's and the relay's names in outage log lines. */
export const PROCESSOR_COMPONENT = 'inbox processor';
export const RELAY_COMPONENT = 'outbox relay';

/**
 * The inbox's arrival counter (its id sequence: every delivery written, duplicates included) and the age of its
 * oldest pending delivery (null when none is pending), read in one round trip.
 */
async function inboxArrivals(sql: postgres.Sql): Promise<{ seq: number; oldestPendingAgeMs: number | null }> {
	const [row] = await sql<{ seq: string; age_ms: number | null }[]>`
		select (select last_value from webhook_inbox_id_seq) as seq,
			(select extract(epoch from clock_timestamp() - received_at)::float8 * 1000
			 from webhook_inbox where status = 'pending' order by id limit 1) as age_ms`;
	return { seq: Number(row.seq), oldestPendingAgeMs: row.age_ms };
}

/**
 * Drains the webhook inbox into conversations for `durationMs`: claims batches (several in parallel), releases
 * quarantined conversations whose agent got mapped, and prunes processed inbox rows now and then. With
 * `intakePriority`, it rests between rounds while a burst of deliveries arrives (intake-priority.ts). Every batch
 * transaction is fenced by the processor lease (db/locks.ts), so a processor that lost it stops before its next batch.
 */
export async function runInboxProcessorLoop(
	deps: InboxLoopDeps,
	opts: LoopOptions & { batchSize?: number; parallel?: number; pollMs?: number; intakePriority?: IntakePriorityOptions }
): Promise<LoopReport> {
	const report: LoopReport = { ran: false, rounds: 0, items: 0, errors: 0, restedMs: 0 };
	const errors = new IngestionErrorRecorder(deps.db.db);
	const ctx: IngestCtx = { db: deps.db.db };
	const priority = opts.intakePriority ? new IntakePriority(opts.intakePriority) : null;
	let bursting = false;
	try {
		await runUnderLease(deps.db.sql, LOCK_IDS.processor, PROCESSOR_COMPONENT, opts, report, async ({ lease, signal, end }) => {
			const inboxWake = new Wakeup();
			let quarantineDue = true;
			const unlisten = await listen(deps.db.sql, [INBOX_CHANNEL, QUARANTINE_CHANNEL], (c) => {
				if (c === QUARANTINE_CHANNEL) quarantineDue = true;
				inboxWake.notify();
			});
			let nextQuarantineSweep = 0;
			let nextPrune = Date.now() + 60_000;
			let failures = 0;
			const fence = (tx: Tx) => lease.fence(tx);
			try {
				while (!signal.aborted) {
					report.rounds++;
					const roundStart = Date.now();
					try {
						const batches = await Promise.all(
							Array.from({ length: opts.parallel ?? 2 }, () => processInboxBatch({ ctx, input: { limit: opts.batchSize ?? 250, errors, fence } }))
						);
						const claimed = batches.reduce((n, b) => n + b.claimed, 0);
						report.items += claimed;
						if (deps.releaseQuarantined && (quarantineDue || Date.now() >= nextQuarantineSweep)) {
							quarantineDue = false;
							nextQuarantineSweep = Date.now() + 30_000;
							for (let released = -1; released !== 0 && Date.now() < end && !signal.aborted; ) {
								await lease.check(ctx.db);
								released = await deps.releaseQuarantined(ctx);
								report.items += released;
							}
						}
						if (Date.now() >= nextPrune) {
							nextPrune = Date.now() + 5 * 60_000;
							await pruneProcessedInbox(deps.db.db);
							await pruneIngestionErrors(deps.db.db);
						}
						failures = 0;
						reportSuccess(PROCESSOR_COMPONENT);
						// A full batch means more is waiting: go again at once (during a burst, after a rest). Otherwise sleep until notified.
						if (batches.some((b) => b.claimed === (opts.batchSize ?? 250))) {
							if (priority) {
								const arrivals = await inboxArrivals(deps.db.sql);
								priority.observe(Date.now(), arrivals.seq);
								const rest = priority.restAfter(Date.now() - roundStart, arrivals.oldestPendingAgeMs);
								if ((rest > 0) !== bursting) {
									bursting = rest > 0;
									log.info(bursting ? 'webhook burst: the intake comes first, processing slows down' : 'webhook burst over (or backlog at its lag limit): processing at full speed', {
										arrivalsPerSec: Math.round(priority.arrivalRate),
										oldestPendingAgeMs: arrivals.oldestPendingAgeMs
									});
								}
								// In slices: after each, the arrivals are read again, and a burst that ended (or a backlog that
								// reached its lag limit) ends the rest.
								// Never past the run's end: its successor waits for the lease only so long.
								for (let left = Math.min(rest, end - Date.now()); left > 0 && !signal.aborted; ) {
									const slice = Math.min(left, REST_SLICE_MS);
									await sleep(slice, signal);
									report.restedMs += slice;
									left -= slice;
									if (left <= 0) break;
									const now = await inboxArrivals(deps.db.sql);
									priority.observe(Date.now(), now.seq);
									if (!priority.shouldRest(now.oldestPendingAgeMs)) break;
								}
							}
							continue;
						}
						await inboxWake.wait(opts.pollMs ?? 1000, signal);
					} catch (err) {
						report.errors++;
						if (err instanceof LeaseLostError) throw err;
						failures++;
						const outage = handledAsOutage(PROCESSOR_COMPONENT, err, signal);
						if (!outage) {
							errors.record(null, 'processor', err instanceof Error ? err.message : String(err));
							log.warn('inbox processor round failed', { err, failures });
						}
						// During an outage, try again soon: the intake keeps accepting while PostgreSQL is up.
						await sleep(outage ? Math.min(2_000, backoff(failures)) : backoff(failures), signal);
					}
				}
			} finally {
				await unlisten();
			}
		});
	} finally {
		await errors.flush();
	}
	return report;
}

/** A batch this large means a busy stream: the relay then lingers for BUSY_BATCH_MS before the next one. */
export const BUSY_BATCH_ROWS = 1000;
export const BUSY_BATCH_MS = 1000;

/**
 * Relays the outbox to ClickHouse for `durationMs`. A batch goes out when it holds `batchRows` rows or `batchMs`
 * after the first change that woke the relay, whichever comes first; after a batch of BUSY_BATCH_ROWS or more the
 * wait is BUSY_BATCH_MS instead (ClickHouse wants few, large inserts: each insert is a part to merge later, and at
 * thousands of calls a second four inserts a second cost ClickHouse three times the CPU of one). With ClickHouse
 * down, rounds fail and back off (rows wait in the outbox; /healthz shows the lag); they drain on their own once
 * it answers again. Every batch is fenced by the relay lease (relay.ts explains why a relay that lost it cannot
 * send what its successor sends).
 */
export async function runOutboxRelayLoop(
	deps: LoopDeps & { ch: ClickHouseClient },
	opts: LoopOptions & { batchRows: number; batchMs: number; pollMs?: number; settleMs?: number }
): Promise<LoopReport> {
	const report: LoopReport = { ran: false, rounds: 0, items: 0, errors: 0, restedMs: 0 };
	const errors = new IngestionErrorRecorder(deps.db.db, 30_000);
	let failures = 0;
	try {
		await runUnderLease(deps.db.sql, LOCK_IDS.relay, RELAY_COMPONENT, opts, report, async ({ lease, signal }) => {
			const wake = new Wakeup();
			const unlisten = await listen(deps.db.sql, [OUTBOX_CHANNEL], () => wake.notify());
			try {
				while (!signal.aborted) {
					report.rounds++;
					try {
						const res = await relayOutboxBatchToClickHouse({
							// The lease's own signal, not the run's: an insert is abandoned when the lease is lost, never at a stop.
							ctx: { db: deps.db.db, ch: deps.ch, lease },
							input: { limit: opts.batchRows, settleMs: opts.settleMs }
						});
						report.items += res.inserted + res.alreadyPresent;
						if (failures > 0) log.info('outbox relay recovered', { after: failures });
						failures = 0;
						reportSuccess(RELAY_COMPONENT);
						if (res.claimed >= opts.batchRows) continue;
						await wake.wait(opts.pollMs ?? 1000, signal);
						// Woken by a change: let the batch fill for up to batchMs (a busy stream: BUSY_BATCH_MS) before sending it.
						await sleep(res.claimed >= BUSY_BATCH_ROWS ? Math.max(opts.batchMs, BUSY_BATCH_MS) : opts.batchMs, signal);
					} catch (err) {
						report.errors++;
						if (err instanceof LeaseLostError) throw err;
						if (handledAsOutage(RELAY_COMPONENT, err, signal)) {
							await sleep(backoff(1), signal);
							continue;
						}
						failures++;
						const message = isConnectionRefused(err) ? 'ClickHouse refused the connection (down?)' : err instanceof Error ? err.message : String(err);
						errors.record(null, 'relay', message.slice(0, 500));
						if (failures === 1 || failures % 20 === 0) log.warn('outbox relay round failed; rows wait in the outbox', { err, failures });
						await sleep(backoff(failures), signal);
					}
				}
			} finally {
				await unlisten();
			}
		});
	} finally {
		await errors.flush();
	}
	return report;
}

/** Runs `fn` as the only relay (waits for the lease up to `waitMs`); null if the lease never came. */
export async function withRelayLease<T>(db: DbHandle, fn: (lease: Lease) => Promise<T>, waitMs = 60_000): Promise<T | null> {
	const r = await withLease(db.sql, LOCK_IDS.relay, { waitMs }, fn);
	return r.ran ? r.value : null;
}

/**
 * Relays until nothing is left to send (or `maxRounds`), holding the relay lease like the worker's loop does:
 * for tests, the backfill command and benchmarks that need ClickHouse caught up now. Throws if a round fails.
 */
export async function drainOutboxToClickHouse(
	deps: { db: DbHandle; ch: ClickHouseClient },
	opts: { batchRows?: number; settleMs?: number; waitForLeaseMs?: number; maxRounds?: number } = {}
): Promise<{ inserted: number; alreadyPresent: number; rounds: number }> {
	const total = { inserted: 0, alreadyPresent: 0, rounds: 0 };
	const ran = await withRelayLease(deps.db, async (lease) => {
		for (; total.rounds < (opts.maxRounds ?? 1000); ) {
			total.rounds++;
			const r = await relayOutboxBatchToClickHouse({ ctx: { db: deps.db.db, ch: deps.ch, lease }, input: { limit: opts.batchRows ?? 5000, settleMs: opts.settleMs } });
			total.inserted += r.inserted;
			total.alreadyPresent += r.alreadyPresent;
			if (r.claimed === 0) break;
		}
		return true;
	}, opts.waitForLeaseMs ?? 60_000);
	if (!ran) throw new Error('another relay holds the lease');
	return total;
}

/** Processes the inbox until it is empty (or `maxRounds`); safe alongside the worker's loop. */
export async function drainInbox(ctx: IngestCtx, opts: { batchSize?: number; maxRounds?: number } = {}): Promise<number> {
	let n = 0;
	for (let round = 0; round < (opts.maxRounds ?? 10_000); round++) {
		const r = await processInboxBatch({ ctx, input: { limit: opts.batchSize ?? 250 } });
		n += r.claimed;
		if (r.claimed === 0) break;
	}
	return n;
}
