import type { ClickHouseClient } from '@clickhouse/client';
import { asc, isNull, lt, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { queryRows } from '../analytics/client';
import { ident, joinSql, sql as chSql } from '../analytics/literal';
import { anyOf, inTransaction, type DbOrTx } from '../db/client';
import type { Lease } from '../db/locks';
import { outbox } from '../db/schema/index';
import { Readable } from 'node:stream';
import { encodeJsonEachRow } from '../analytics/json-each-row';
import { isRelayTarget, RELAY_DECIMAL_COLUMNS, RELAY_TARGETS, type CallEventRow, type RelayTarget, type TrackingEventRow } from '../analytics/tables';

// Outbox → ClickHouse, exactly once in effect. The protocol, per batch (one relay at a time, see loops.ts):
//   1. claim the oldest unsent rows;
//   2. rows attempted before are "in doubt" (a relay may have died after its INSERT and before its mark): once
//      any insert of theirs must have finished (IN_DOUBT_SETTLE_MS), ask ClickHouse which of their event ids it
//      has, and drop those from the batch;
//   3. stamp attempted_at on the batch and commit that, BEFORE inserting, so a crash leaves a trace;
//   4. INSERT the rows (JSONEachRow, one statement per target table);
//   5. mark them sent.
// A crash between 4 and 5 therefore never re-inserts: step 2 of the next run finds the rows and only marks them.
// ReplacingMergeTree on event_id is the second line: should a duplicate ever land, FINAL queries still count it
// once. Only the calls_15m rollup (fed per insert) relies on the first line alone.

/** After this long an insert of a crashed relay has either landed or failed (ClickHouse request timeout: 30 s). */
export const IN_DOUBT_SETTLE_MS = 35_000;

export interface OutboxBatchRow {
	id: number;
	eventId: string;
	target: string;
	payload: CallEventRow | TrackingEventRow;
	attempts: number;
	attemptedAt: Date | null;
}

export interface RelayResult {
	claimed: number;
	inserted: number;
	/** In-doubt rows ClickHouse already had: marked sent without a second insert. */
	alreadyPresent: number;
}

function groupByTarget(rows: OutboxBatchRow[]): Map<RelayTarget, OutboxBatchRow[]> {
	const m = new Map<RelayTarget, OutboxBatchRow[]>();
	for (const r of rows) {
		// Targets come from code (analytics/tables.ts RELAY_TARGETS); this guards the identifier.
		if (!isRelayTarget(r.target)) throw new Error(`outbox target ${r.target} is not a known ClickHouse table`);
		const g = m.get(r.target);
		if (g) g.push(r);
		else m.set(r.target, [r]);
	}
	return m;
}

/** True when the request provably never reached ClickHouse, so nothing of it can have been inserted. */
export function isConnectionRefused(err: unknown): boolean {
	for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
		if ((e as { code?: unknown }).code === 'ECONNREFUSED') return true;
	}
	return false;
}

/**
 * Step 1: the oldest unsent rows, skipping in-doubt rows that have not settled yet (they must not hold up the
 * rows behind them).
 */
export async function claimOutboxBatch(db: DbOrTx, opts: { limit: number; settleMs?: number }): Promise<OutboxBatchRow[]> {
	const rows = await db
		.select({
			id: outbox.id,
			eventId: outbox.eventId,
			target: outbox.target,
			payload: outbox.payload,
			attempts: outbox.attempts,
			attemptedAt: outbox.attemptedAt
		})
		.from(outbox)
		.where(or(isNull(outbox.attemptedAt), lt(outbox.attemptedAt, sql`now() - make_interval(secs => ${(opts.settleMs ?? IN_DOUBT_SETTLE_MS) / 1000})`)))
		.orderBy(asc(outbox.createdAt), asc(outbox.id))
		.limit(opts.limit);
	return rows as OutboxBatchRow[];
}

/** Step 2: which of these events ClickHouse already holds (narrowed by tenant and time to use the sort key). */
export async function findDeliveredEventIds(ch: ClickHouseClient, rows: OutboxBatchRow[]): Promise<Set<string>> {
	const found = new Set<string>();
	for (const [target, group] of groupByTarget(rows)) {
		for (let i = 0; i < group.length; i += 1000) {
			const slice = group.slice(i, i + 1000);
			const tenants = [...new Set(slice.map((r) => r.payload.tenant_id))];
			const timeColumn = RELAY_TARGETS[target as keyof typeof RELAY_TARGETS].timeColumn;
			const times = slice.map((r) => (r.payload as unknown as Record<string, string>)[timeColumn]).sort();
			const q = chSql`SELECT event_id FROM ${ident(target)}
				WHERE tenant_id IN (${joinSql(tenants.map((t) => chSql`toUUID(${t})`))})
				AND ${ident(timeColumn)} BETWEEN toDateTime(${times[0]}, 'UTC') AND toDateTime(${times[times.length - 1]}, 'UTC')
				AND event_id IN (${joinSql(slice.map((r) => chSql`${r.eventId}`))})`;
			for (const r of await queryRows(ch, q, z.object({ event_id: z.string() }))) found.add(r.event_id);
		}
	}
	return found;
}

/** Undoes step 3 for rows whose insert provably never reached ClickHouse, so they go out at once next time. */
export async function clearOutboxAttempt(db: DbOrTx, ids: number[]): Promise<void> {
	if (ids.length === 0) return;
	await db.update(outbox).set({ attemptedAt: null }).where(anyOf(outbox.id, ids, 'bigint'));
}

/** Step 3: the trace a crash leaves behind; committed before anything is sent. */
export async function markOutboxAttempted(db: DbOrTx, ids: number[]): Promise<void> {
	if (ids.length === 0) return;
	await db
		.update(outbox)
		.set({ attemptedAt: sql`now()`, attempts: sql`${outbox.attempts} + 1` })
		.where(anyOf(outbox.id, ids, 'bigint'));
}

/**
 * Step 4: one JSONEachRow INSERT per target table (abandoned if `signal` aborts: the rows are in doubt then). The body
 * is written by encodeJsonEachRow so Decimal columns go as bare numerals from their exact text (the client's own
 * encoder would quote them, which 18.16 refuses).
 */
export async function insertOutboxRowsIntoClickHouse(ch: ClickHouseClient, rows: OutboxBatchRow[], signal?: AbortSignal): Promise<void> {
	for (const [target, group] of groupByTarget(rows)) {
		signal?.throwIfAborted();
		const body = encodeJsonEachRow(
			group.map((r) => r.payload as Record<string, unknown>),
			RELAY_DECIMAL_COLUMNS[target]
		);
		const { stream } = await ch.exec({ query: `INSERT INTO ${ident(target).text} FORMAT JSONEachRow`, values: Readable.from([body]), abort_signal: signal });
		// The answer of an INSERT is empty; reading it to the end returns the connection to the pool.
		for await (const chunk of stream) void chunk;
	}
}

/**
 * Step 5: a sent row is deleted, not stamped: a DELETE only marks the tuple, while an UPDATE of sent_at wrote a new
 * version of the row and of its index entries, and the row had to be deleted later anyway.
 */
export async function markOutboxSent(db: DbOrTx, ids: number[]): Promise<void> {
	if (ids.length === 0) return;
	for (let i = 0; i < ids.length; i += 5000) {
		await db.delete(outbox).where(anyOf(outbox.id, ids.slice(i, i + 5000), 'bigint'));
	}
}

/**
 * Relays one batch. Call it only while holding the relay lease (loops.ts), or from a test that runs alone:
 * two concurrent relays could both find an in-doubt row missing and both insert it.
 *
 * With `lease`, a relay that lost the lease never sends (or re-sends) what a newer relay sends. The argument:
 * - the batch is checked against the lease first (a relay that lost it stops before claiming), and step 3 commits
 *   only inside a transaction fenced by the lease (`lease.fence`: the epoch still ours, the lease row held FOR
 *   SHARE until commit);
 * - a new relay takes the lease by bumping the epoch, which waits for that transaction. So either step 3 failed
 *   (this relay sends nothing), or it committed before the new relay's first claim: the batch's rows then carry
 *   attempted_at and the new relay skips them until IN_DOUBT_SETTLE_MS (35 s) have passed, longer than this
 *   relay's INSERT can run (the ClickHouse request timeout, 30 s; it is also abandoned as soon as the lease's
 *   connection is seen closed). After that the new relay asks ClickHouse which event ids landed and sends only
 *   the missing ones.
 * Each row is thus sent by one relay at a time, and re-sent only after ClickHouse says it is missing; the two
 * relays may overlap for at most that last INSERT of the old one, on disjoint rows, and the deterministic event
 * ids (ReplacingMergeTree, FINAL) are the second line under it.
 */
export async function relayOutboxBatchToClickHouse({
	ctx,
	input
}: {
	ctx: { db: DbOrTx; ch: ClickHouseClient; lease?: Pick<Lease, 'fence' | 'check' | 'signal'> };
	input?: { limit?: number; settleMs?: number };
}): Promise<RelayResult> {
	const limit = input?.limit ?? 5000;
	const settleMs = input?.settleMs ?? IN_DOUBT_SETTLE_MS;
	const lease = ctx.lease;
	if (lease) await lease.check(ctx.db);
	const claimed = await claimOutboxBatch(ctx.db, { limit, settleMs });
	const result: RelayResult = { claimed: claimed.length, inserted: 0, alreadyPresent: 0 };
	if (claimed.length === 0) return result;

	// The claim only returns in-doubt rows that have settled (judged by PostgreSQL's clock, like attempted_at).
	const fresh = claimed.filter((r) => r.attemptedAt === null);
	const doubtful = claimed.filter((r) => r.attemptedAt !== null);
	let toInsert = fresh;
	if (doubtful.length > 0) {
		const delivered = await findDeliveredEventIds(ctx.ch, doubtful);
		const present = doubtful.filter((r) => delivered.has(r.eventId));
		result.alreadyPresent = present.length;
		await markOutboxSent(ctx.db, present.map((r) => r.id));
		toInsert = [...fresh, ...doubtful.filter((r) => !delivered.has(r.eventId))];
	}
	if (toInsert.length === 0) return result;
	const ids = toInsert.map((r) => r.id);
	if (lease) {
		await inTransaction(ctx.db, async (tx) => {
			await lease.fence(tx);
			await markOutboxAttempted(tx, ids);
		});
	} else await markOutboxAttempted(ctx.db, ids);
	try {
		// Right before sending: the fence above committed a moment ago; a connection seen closed since stops here.
		lease?.signal.throwIfAborted();
		await insertOutboxRowsIntoClickHouse(ctx.ch, toInsert, lease?.signal);
	} catch (err) {
		// Every row here is known absent from ClickHouse (fresh, or checked just now), so a refused connection
		// leaves them exactly as before: no reason to make them wait out the in-doubt delay.
		if (isConnectionRefused(err)) await clearOutboxAttempt(ctx.db, ids).catch(() => {});
		throw err;
	}
	await markOutboxSent(ctx.db, ids);
	result.inserted = toInsert.length;
	return result;
}
