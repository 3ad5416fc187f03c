import type { ClickHouseClient } from '@clickhouse/client';
import { asc, isNull, lt, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { queryRows } from '../analytics/client';
import { ident, joinSql, sql as chSql } from '../analytics/literal';
import { anyOf, type DbOrTx } from '../db/client';
import { outbox } from '../db/schema/index';
import { CALL_EVENTS_TABLE, type CallEventRow } from './facts';
import { TRACKING_EVENTS_TABLE, type TrackingEventRow } from './tracking-facts';

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

/**
 * Tables the relay may write, each with the time column of its sort key (the in-doubt lookup narrows by tenant and
 * time); targets come from code (facts.ts, tracking-facts.ts), this map guards the identifier.
 */
const TARGETS = new Map<string, 'started_at' | 'occurred_at'>([
	[CALL_EVENTS_TABLE, 'started_at'],
	[TRACKING_EVENTS_TABLE, 'occurred_at']
]);

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

function groupByTarget(rows: OutboxBatchRow[]): Map<string, OutboxBatchRow[]> {
	const m = new Map<string, OutboxBatchRow[]>();
	for (const r of rows) {
		if (!TARGETS.has(r.target)) throw new Error(`outbox target ${r.target} is not a known ClickHouse table`);
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
			const timeColumn = TARGETS.get(target)!;
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

/** Step 4: one JSONEachRow INSERT per target table. */
export async function insertOutboxRowsIntoClickHouse(ch: ClickHouseClient, rows: OutboxBatchRow[]): Promise<void> {
	for (const [target, group] of groupByTarget(rows)) {
		await ch.insert({ table: target, values: group.map((r) => r.payload), format: 'JSONEachRow' });
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
 */
export async function relayOutboxBatchToClickHouse({
	ctx,
	input
}: {
	ctx: { db: DbOrTx; ch: ClickHouseClient };
	input?: { limit?: number; settleMs?: number };
}): Promise<RelayResult> {
	const limit = input?.limit ?? 5000;
	const settleMs = input?.settleMs ?? IN_DOUBT_SETTLE_MS;
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
	await markOutboxAttempted(ctx.db, ids);
	try {
		await insertOutboxRowsIntoClickHouse(ctx.ch, toInsert);
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

/** Outbox backlog, for /healthz and the admin page. */
export async function outboxLag(db: DbOrTx): Promise<{ pending: number; oldestPendingSeconds: number | null }> {
	const [r] = await db
		.select({
			pending: sql<number>`count(*)`.mapWith(Number),
			oldest: sql<number | null>`extract(epoch from now() - min(${outbox.createdAt}))::int`
		})
		.from(outbox);
	return { pending: r.pending, oldestPendingSeconds: r.oldest };
}
