import { inArray, sql } from 'drizzle-orm';
import { anyOf, inTransaction, type DbOrTx, type Tx } from '../db/client';
import { webhookInbox } from '../db/schema/index';
import {
	callInitiationFailureEventSchema,
	postCallTranscriptionEventSchema,
	WEBHOOK_EVENT_TYPES
} from '../elevenlabs/types';
import { LeaseLostError } from '../db/locks';
import { log } from '../log';
import { isPostgresUnavailable } from '../outage';
import { recordWebhooksSeen, type IngestionErrorRecorder } from './status';
import type { IngestCtx } from './context';
import { INBOX_CHANNEL } from '../db/channels';
import { snapshotFromAudio, snapshotFromInitiationFailure, snapshotFromTranscriptionEvent, type ConversationSnapshot } from './snapshot';
import { upsertConversationSnapshots, type UpsertResult } from './upsert';

// Turns inbox rows into conversation upserts. A batch is claimed with FOR UPDATE SKIP LOCKED (so several
// processors can run), applied and deleted from the inbox in one transaction: a crash rolls the whole batch back
// to pending and the next claim redoes it. Applied rows are deleted rather than marked: the conversation row holds
// what they said, and marking rewrote every ~3 KB row and its index entries, the processor's largest write.
// Ignored rows (event types we do not ingest) are marked processed instead, so an admin can still see them. A batch
// that fails is retried row by row so one bad row cannot block the rest; a row that keeps failing is parked as
// 'failed' (replayInboxRows puts it back).

const MAX_ATTEMPTS = 5;

type InboxRow = Pick<typeof webhookInbox.$inferSelect, 'id' | 'connectionId' | 'eventType' | 'body' | 'audioKey' | 'attempts' | 'receivedAt'>;

export interface ProcessResult {
	claimed: number;
	processed: number;
	ignored: number;
	failed: number;
	upsert: UpsertResult | null;
}

type Parsed = { kind: 'snapshot'; snapshot: ConversationSnapshot } | { kind: 'ignore'; note: string } | { kind: 'invalid'; error: string };

/** What one inbox row says, without touching the database. */
export function parseInboxRow(row: Pick<InboxRow, 'connectionId' | 'eventType' | 'body' | 'audioKey'>): Parsed {
	let event: unknown;
	try {
		event = JSON.parse(row.body);
	} catch {
		return { kind: 'invalid', error: 'stored body is not JSON' };
	}
	switch (row.eventType) {
		case 'post_call_transcription': {
			const r = postCallTranscriptionEventSchema.safeParse(event);
			if (!r.success) return { kind: 'invalid', error: `post_call_transcription: ${r.error.message.slice(0, 500)}` };
			return { kind: 'snapshot', snapshot: snapshotFromTranscriptionEvent(row.connectionId, r.data) };
		}
		case 'call_initiation_failure': {
			const r = callInitiationFailureEventSchema.safeParse(event);
			if (!r.success) return { kind: 'invalid', error: `call_initiation_failure: ${r.error.message.slice(0, 500)}` };
			return { kind: 'snapshot', snapshot: snapshotFromInitiationFailure(row.connectionId, r.data) };
		}
		case 'post_call_audio': {
			const e = event as { event_timestamp?: unknown; data?: { agent_id?: unknown; conversation_id?: unknown } };
			const agentId = e.data?.agent_id;
			const conversationId = e.data?.conversation_id;
			if (typeof agentId !== 'string' || typeof conversationId !== 'string') return { kind: 'invalid', error: 'post_call_audio: no ids' };
			if (!row.audioKey) return { kind: 'ignore', note: 'post_call_audio without audio' };
			const ts = typeof e.event_timestamp === 'number' ? e.event_timestamp : Date.now() / 1000;
			return { kind: 'snapshot', snapshot: snapshotFromAudio(row.connectionId, { agentId, conversationId, eventTimestamp: ts, audioKey: row.audioKey }) };
		}
		default:
			// Upstream adds event kinds (e.g. answering machine detection); keep them in the inbox, count nothing.
			return { kind: 'ignore', note: `event type ${row.eventType} is not ingested (known: ${WEBHOOK_EVENT_TYPES.join(', ')})` };
	}
}

// What a claim reads of an inbox row, for the batch path and the row-by-row retry alike.
const inboxRowColumns = {
	id: webhookInbox.id,
	connectionId: webhookInbox.connectionId,
	eventType: webhookInbox.eventType,
	body: webhookInbox.body,
	audioKey: webhookInbox.audioKey,
	attempts: webhookInbox.attempts,
	receivedAt: webhookInbox.receivedAt
};

async function claim(tx: Tx, limit: number): Promise<InboxRow[]> {
	return tx
		.select(inboxRowColumns)
		.from(webhookInbox)
		.where(sql`${webhookInbox.status} = 'pending'`)
		.orderBy(webhookInbox.id)
		.limit(limit)
		.for('update', { skipLocked: true });
}

async function applyRows(tx: Tx, ctx: IngestCtx, rows: InboxRow[], errors: IngestionErrorRecorder | null): Promise<ProcessResult> {
	const result: ProcessResult = { claimed: rows.length, processed: 0, ignored: 0, failed: 0, upsert: null };
	const snapshots: ConversationSnapshot[] = [];
	const done: number[] = [];
	const ignored: { id: number; note: string }[] = [];
	const invalid: { id: number; error: string; connectionId: string }[] = [];
	const seen = new Map<string, Date>();
	for (const row of rows) {
		const prev = seen.get(row.connectionId);
		if (!prev || prev < row.receivedAt) seen.set(row.connectionId, row.receivedAt);
		const p = parseInboxRow(row);
		if (p.kind === 'snapshot') {
			snapshots.push(p.snapshot);
			done.push(row.id);
		} else if (p.kind === 'ignore') ignored.push({ id: row.id, note: p.note });
		else invalid.push({ id: row.id, error: p.error, connectionId: row.connectionId });
	}
	// Rows are in inbox order; the merge rules make the result independent of it anyway.
	result.upsert = await upsertConversationSnapshots({ ctx: { ...ctx, db: tx }, input: { snapshots } });
	if (done.length > 0) await tx.delete(webhookInbox).where(anyOf(webhookInbox.id, done, 'bigint'));
	for (const i of ignored) {
		await tx
			.update(webhookInbox)
			.set({ status: 'processed', processedAt: sql`now()`, attempts: sql`${webhookInbox.attempts} + 1`, lastError: i.note })
			.where(sql`${webhookInbox.id} = ${i.id}`);
	}
	// A body that does not parse will not parse next time either: park it at once.
	for (const i of invalid) {
		await tx
			.update(webhookInbox)
			.set({ status: 'failed', processedAt: sql`now()`, attempts: sql`${webhookInbox.attempts} + 1`, lastError: i.error })
			.where(sql`${webhookInbox.id} = ${i.id}`);
		errors?.record(i.connectionId, 'processor', 'webhook event could not be parsed', { inboxId: i.id, error: i.error });
	}
	await recordWebhooksSeen(tx, seen);
	result.processed = done.length;
	result.ignored = ignored.length;
	result.failed = invalid.length;
	return result;
}

/** Failures that say nothing about the rows (PostgreSQL away, the lease lost): the batch is redone, rows not blamed. */
function isTransient(err: unknown): boolean {
	return err instanceof LeaseLostError || isPostgresUnavailable(err);
}

/** Checks, first thing inside a work transaction, that the caller still holds its lease (db/locks.ts Lease.fence). */
export type Fence = (tx: Tx) => Promise<void>;

/**
 * Claims up to `limit` pending inbox rows and applies them. Returns claimed = 0 when the inbox is empty.
 * Safe to run concurrently (SKIP LOCKED) and to re-run after a crash (nothing is marked before commit).
 * With `fence`, each transaction first checks the caller's lease.
 */
export async function processInboxBatch({
	ctx,
	input
}: {
	ctx: IngestCtx;
	input?: { limit?: number; errors?: IngestionErrorRecorder | null; fence?: Fence };
}): Promise<ProcessResult> {
	const limit = input?.limit ?? 250;
	const errors = input?.errors ?? null;
	const fence = input?.fence;
	let claimedIds: number[] = [];
	try {
		return await inTransaction(ctx.db, async (tx) => {
			if (fence) await fence(tx);
			const rows = await claim(tx, limit);
			claimedIds = rows.map((r) => r.id);
			if (rows.length === 0) return { claimed: 0, processed: 0, ignored: 0, failed: 0, upsert: null };
			return applyRows(tx, ctx, rows, errors);
		});
	} catch (err) {
		if (claimedIds.length === 0 || isTransient(err)) throw err;
		log.warn('inbox batch failed; retrying its rows one by one', { err, rows: claimedIds.length });
		return processRowsOneByOne(ctx, claimedIds, errors, fence);
	}
}

async function processRowsOneByOne(ctx: IngestCtx, ids: number[], errors: IngestionErrorRecorder | null, fence?: Fence): Promise<ProcessResult> {
	const total: ProcessResult = { claimed: ids.length, processed: 0, ignored: 0, failed: 0, upsert: null };
	for (const id of ids) {
		try {
			const r = await inTransaction(ctx.db, async (tx) => {
				if (fence) await fence(tx);
				const rows = await tx
					.select(inboxRowColumns)
					.from(webhookInbox)
					.where(sql`${webhookInbox.id} = ${id} and ${webhookInbox.status} = 'pending'`)
					.for('update', { skipLocked: true });
				return rows.length ? applyRows(tx, ctx, rows, errors) : null;
			});
			if (r) {
				total.processed += r.processed;
				total.ignored += r.ignored;
				total.failed += r.failed;
			}
		} catch (err) {
			// Not this row's fault: stop, and leave it pending for the next run.
			if (isTransient(err)) throw err;
			const message = err instanceof Error ? err.message : String(err);
			const [row] = await ctx.db
				.update(webhookInbox)
				.set({
					attempts: sql`${webhookInbox.attempts} + 1`,
					lastError: message.slice(0, 2000),
					status: sql`case when ${webhookInbox.attempts} + 1 >= ${MAX_ATTEMPTS} then 'failed' else 'pending' end`
				})
				.where(sql`${webhookInbox.id} = ${id}`)
				.returning({ connectionId: webhookInbox.connectionId, status: webhookInbox.status });
			if (row?.status === 'failed') total.failed++;
			errors?.record(row?.connectionId ?? null, 'processor', message.slice(0, 300), { inboxId: id });
			log.error('inbox row failed', { err, inboxId: id });
		}
	}
	return total;
}

/** Puts failed (or ignored) inbox rows back to pending, e.g. after a parser fix. */
export async function replayInboxRows({ ctx, input }: { ctx: IngestCtx; input: { ids: number[] } }): Promise<{ replayed: number }> {
	if (input.ids.length === 0) return { replayed: 0 };
	const rows = await ctx.db
		.update(webhookInbox)
		.set({ status: 'pending', attempts: 0, lastError: null, processedAt: null })
		.where(inArray(webhookInbox.id, input.ids))
		.returning({ id: webhookInbox.id });
	if (rows.length) await ctx.db.execute(sql`select pg_notify(${INBOX_CHANNEL}, '')`);
	return { replayed: rows.length };
}

/** Deletes processed inbox rows older than the retention, oldest first, a bounded number per call. */
export async function pruneProcessedInbox(db: DbOrTx, opts: { retentionHours?: number; limit?: number } = {}): Promise<number> {
	const rows = await db.execute<{ id: string }>(sql`
		delete from webhook_inbox where id in (
			select id from webhook_inbox
			where status = 'processed' and received_at < now() - make_interval(hours => ${opts.retentionHours ?? 72})
			order by id limit ${opts.limit ?? 5000})
		returning id`);
	return rows.length;
}
