import { and, eq, isNull, lte, or, sql } from 'drizzle-orm';
import type postgres from 'postgres';
import { anyOf } from '../db/client';
import { LOCK_IDS, withSessionLock, type HeldLock } from '../db/locks';
import { conversation, elevenlabsConnection, ingestionStatus } from '../db/schema/index';
import { createElevenLabsClient, UpstreamError, type ElevenLabsClient } from '../elevenlabs/client';
import { CONVERSATION_STATUS_ORDER, isFinalStatus, statusRank, type ConversationSummary } from '../elevenlabs/types';
import { readConnectionCredentials, type ConnectionCredentials } from './connections';
import { getPollWatermark, recordPollResult } from './status';
import type { IngestCtx } from './context';
import { snapshotFromConversationDetail, snapshotFromConversationSummary, type ConversationSnapshot } from './snapshot';
import { upsertConversationSnapshots } from './upsert';

// The polling sync: the safety net under the webhooks. Per connection it lists conversations by start time from
// the watermark (minus an overlap) up to now, in windows oldest first, 100 per page. One query per page tells which
// are already stored in a final state (nothing to do: the webhook brought them); the rest are fetched in detail
// (bounded concurrency) or, if still in progress upstream, stored from the listing alone and revisited by a later
// poll. Everything goes through upsertConversationSnapshots, the webhooks' own write path.
//
// Watermark: "every conversation that started before it is stored final, or is re-listed by the next run". After a
// window commits, the run may claim its end, except that a conversation still in progress holds the claim at its
// start time. The next run lists from (watermark - overlap), so late-listed calls and clock skew up to the overlap
// are caught too. recordPollResult only moves the watermark forward, so concurrent runs cannot undo each other.

export const SYNC_DEFAULTS = {
	/** Re-listed before the watermark on every run: covers upstream listing lag and clock skew. */
	overlapSecs: 10 * 60,
	/** How far back a connection's first run looks; older history is the backfill command's job. */
	firstSyncLookbackSecs: 24 * 3600,
	/** One `call_start_after_unix`/`call_start_before_unix` window; the watermark can advance after each. */
	windowSecs: 6 * 3600,
	/** A conversation in progress for longer than this no longer holds the watermark (stuck upstream). */
	holdSecs: 6 * 3600,
	/** A run stops between pages after this long (pg-boss expires jobs after 5 minutes) and queues a successor. */
	maxRunMs: 4 * 60_000,
	pageSize: 100,
	/** Upstream requests in flight per connection (the client's cap). */
	maxConcurrency: 4
} as const;

export interface SyncCounts {
	pages: number;
	listed: number;
	/** Already stored final: no request, no write. */
	current: number;
	/** Details fetched (one request each). */
	fetched: number;
	/** Stored from the listing alone: in progress upstream, or a final row whose start time the listing corrects. */
	fromListing: number;
	/** Listed but gone or refused (4xx) when fetched: skipped. */
	skipped: number;
	/** Conversation rows created or changed. */
	written: number;
}

/** Extra dependencies of the sync verbs: bring a client to share it or count its requests (tests, benchmarks). */
export interface SyncCtx extends IngestCtx {
	elevenlabs?: ElevenLabsClient;
	/** Ends a run between pages (worker shutdown); the run records what it completed. */
	signal?: AbortSignal;
}

export interface SyncResult {
	status: 'ok' | 'failed' | 'disabled';
	connectionId: string;
	window: { from: Date; to: Date } | null;
	/** The watermark this run claimed (null if it completed no window). */
	watermark: Date | null;
	/** The run stopped early (time budget, shutdown); the rest is for a successor. */
	more: boolean;
	counts: SyncCounts;
	/** Upstream HTTP requests this run sent, retries included. */
	requests: number;
	error?: string;
	durationMs: number;
}

export const emptySyncCounts = (): SyncCounts => ({ pages: 0, listed: 0, current: 0, fetched: 0, fromListing: 0, skipped: 0, written: 0 });
const FINAL_RANK = CONVERSATION_STATUS_ORDER.done;
const unix = (d: Date) => Math.floor(d.getTime() / 1000);
const fromUnix = (s: number) => new Date(s * 1000);
const minOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));

/** The ctx's client, or a new one for the connection that the caller must close (`owned`). */
export function clientForConnection(ctx: SyncCtx, creds: ConnectionCredentials): { client: ElevenLabsClient; owned: boolean } {
	if (ctx.elevenlabs) return { client: ctx.elevenlabs, owned: false };
	return {
		client: createElevenLabsClient({ baseUrl: creds.baseUrl, apiKey: creds.apiKey, maxConcurrency: SYNC_DEFAULTS.maxConcurrency }),
		owned: true
	};
}

/** Runs fn over items with at most `limit` in flight; stops starting new ones after the first failure. */
async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
	let next = 0;
	let failed = false;
	const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
		while (!failed && next < items.length) {
			const item = items[next++];
			try {
				await fn(item);
			} catch (err) {
				failed = true;
				throw err;
			}
		}
	});
	const results = await Promise.allSettled(lanes);
	const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
	if (rejected) throw rejected.reason;
}

/** A 4xx other than 408/429: this conversation cannot be fetched (deleted upstream, forbidden); retrying won't help. */
const isPermanentRefusal = (err: unknown) =>
	err instanceof UpstreamError && err.code === 'http' && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429;

/**
 * Imports one listing page: one query for what is stored, details only for what is not stored final, one upsert.
 * Returns the earliest start time (unix s) among conversations still in progress since `holdSinceSecs`.
 */
async function importSummaryPage(
	ctx: SyncCtx,
	client: ElevenLabsClient,
	connectionId: string,
	items: ConversationSummary[],
	counts: SyncCounts,
	opts: { holdSinceSecs: number | null }
): Promise<{ openSinceSecs: number | null }> {
	counts.listed += items.length;
	if (items.length === 0) return { openSinceSecs: null };
	const ids = [...new Set(items.map((s) => s.conversation_id))];
	const stored = new Map(
		(
			await ctx.db
				.select({
					conversationId: conversation.conversationId,
					statusRank: conversation.statusRank,
					startedAt: conversation.startedAt,
					durationSecs: conversation.durationSecs,
					hasDetails: sql<boolean>`${conversation.details} is not null`
				})
				.from(conversation)
				.where(anyOf(conversation.conversationId, ids, 'text'))
		).map((r) => [r.conversationId, r])
	);

	const listedAt = new Date();
	const snapshots: ConversationSnapshot[] = [];
	const toFetch: ConversationSummary[] = [];
	let openSinceSecs: number | null = null;
	const hold = (startSecs: number) => {
		if (opts.holdSinceSecs !== null && startSecs >= opts.holdSinceSecs) openSinceSecs = minOf(openSinceSecs, startSecs);
	};
	for (const s of items) {
		const row = stored.get(s.conversation_id);
		if (!isFinalStatus(s.status)) {
			if (row && row.statusRank >= FINAL_RANK) {
				counts.current++;
				continue;
			}
			// Not fetched while it is still changing: the listing is stored now, the details when a later poll finds it final.
			hold(s.start_time_unix_secs);
			if (!row || row.statusRank < statusRank(s.status)) {
				snapshots.push(snapshotFromConversationSummary(connectionId, s, { observedAt: listedAt }));
				counts.fromListing++;
			} else counts.current++;
			continue;
		}
		if (row && row.statusRank >= FINAL_RANK) {
			// Final from a webhook. A call_initiation_failure carries no start time (its event time stands in) and no
			// details; the listing has the real start, so correct it without a request.
			const startedAt = row.startedAt ? unix(row.startedAt) : null;
			if (!row.hasDetails && (startedAt !== Math.floor(s.start_time_unix_secs) || row.durationSecs !== Math.max(0, Math.round(s.call_duration_secs)))) {
				snapshots.push(snapshotFromConversationSummary(connectionId, s, { observedAt: listedAt }));
				counts.fromListing++;
			} else counts.current++;
			continue;
		}
		toFetch.push(s);
	}

	await forEachLimited(toFetch, SYNC_DEFAULTS.maxConcurrency, async (s) => {
		try {
			const { conversation: detail } = await client.getConversation(s.conversation_id);
			snapshots.push(snapshotFromConversationDetail(connectionId, detail, { source: 'poll', observedAt: new Date() }));
			counts.fetched++;
			if (!isFinalStatus(detail.status)) hold(detail.metadata.start_time_unix_secs);
		} catch (err) {
			if (!isPermanentRefusal(err)) throw err;
			counts.skipped++;
		}
	});

	if (snapshots.length > 0) {
		const r = await upsertConversationSnapshots({ ctx, input: { snapshots } });
		counts.written += r.created + r.updated;
	}
	return { openSinceSecs };
}

/**
 * Lists and imports the conversations that started in [fromSecs, toSecs) (the sync's and the backfill's unit). Returns complete: false if `shouldStop`
 * ended it between pages (what was imported stays committed; the window just cannot be claimed).
 */
export async function importConversationWindow(
	ctx: SyncCtx,
	client: ElevenLabsClient,
	connectionId: string,
	w: { fromSecs: number; toSecs: number; holdSinceSecs: number | null },
	counts: SyncCounts,
	shouldStop: () => boolean
): Promise<{ complete: boolean; openSinceSecs: number | null }> {
	let openSinceSecs: number | null = null;
	let cursor: string | null = null;
	const cursors = new Set<string>();
	for (;;) {
		if (shouldStop()) return { complete: false, openSinceSecs };
		// Both bounds are exclusive upstream (`after` is one second earlier so the window starts at fromSecs).
		const { page } = await client.listConversations({
			cursor,
			callStartAfterUnix: w.fromSecs - 1,
			callStartBeforeUnix: w.toSecs,
			pageSize: SYNC_DEFAULTS.pageSize
		});
		counts.pages++;
		const r = await importSummaryPage(ctx, client, connectionId, page.conversations, counts, { holdSinceSecs: w.holdSinceSecs });
		openSinceSecs = minOf(openSinceSecs, r.openSinceSecs);
		if (!page.has_more || !page.next_cursor || cursors.has(page.next_cursor)) return { complete: true, openSinceSecs };
		cursors.add(page.next_cursor);
		cursor = page.next_cursor;
	}
}

/**
 * recordPollResult, with the watermark claimed in a statement of its own: its forward-only update binds a Date
 * into raw SQL, which postgres.js rejects ("Received an instance of Date"). Same rule (greatest), ISO text bound.
 */
async function recordSyncResult(
	ctx: IngestCtx,
	r: { connectionId: string; ok: boolean; watermark: Date | null; error?: string; detail?: unknown }
): Promise<void> {
	await recordPollResult({ ctx, input: { connectionId: r.connectionId, ok: r.ok, watermark: r.watermark, error: r.error, detail: r.detail } });
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 1000);

/**
 * One polling run for a connection: lists from its watermark minus the overlap up to now, imports what the
 * webhooks did not bring, and records the result (watermark included) only after the writes committed. A failed
 * run records the error and claims no window it did not complete. Expected failures (upstream down, throttled
 * past the retries) are returned as `status: 'failed'`, not thrown.
 */
export async function syncConnection({
	ctx,
	input
}: {
	ctx: SyncCtx;
	input: { connectionId: string; now?: Date; overlapSecs?: number; maxRunMs?: number };
}): Promise<SyncResult> {
	const started = Date.now();
	const creds = await readConnectionCredentials({ ctx, input: { connectionId: input.connectionId } });
	const counts = emptySyncCounts();
	const result = (r: Partial<SyncResult> & Pick<SyncResult, 'status'>): SyncResult => ({
		connectionId: creds.id,
		window: null,
		watermark: null,
		more: false,
		counts,
		requests: 0,
		durationMs: Date.now() - started,
		...r
	});
	if (!creds.enabled) return result({ status: 'disabled' });

	const nowSecs = unix(input.now ?? new Date());
	const previous = await getPollWatermark({ ctx, input: { connectionId: creds.id } });
	const fromSecs = previous ? unix(previous) - (input.overlapSecs ?? SYNC_DEFAULTS.overlapSecs) : nowSecs - SYNC_DEFAULTS.firstSyncLookbackSecs;
	const holdSinceSecs = nowSecs - SYNC_DEFAULTS.holdSecs;
	const deadline = started + (input.maxRunMs ?? SYNC_DEFAULTS.maxRunMs);
	const shouldStop = () => Date.now() >= deadline || ctx.signal?.aborted === true;
	const { client, owned } = clientForConnection(ctx, creds);
	const requestsBefore = client.stats.requests;

	let claimedSecs: number | null = null;
	let openSinceSecs: number | null = null;
	let more = false;
	try {
		for (let from = fromSecs; from < nowSecs; from += SYNC_DEFAULTS.windowSecs) {
			const to = Math.min(nowSecs, from + SYNC_DEFAULTS.windowSecs);
			const w = await importConversationWindow(ctx, client, creds.id, { fromSecs: from, toSecs: to, holdSinceSecs }, counts, shouldStop);
			openSinceSecs = minOf(openSinceSecs, w.openSinceSecs);
			if (!w.complete) {
				more = true;
				break;
			}
			claimedSecs = minOf(to, openSinceSecs);
		}
		const watermark = claimedSecs === null ? null : fromUnix(claimedSecs);
		await recordSyncResult(ctx, { connectionId: creds.id, ok: true, watermark });
		return result({
			status: 'ok',
			window: { from: fromUnix(fromSecs), to: fromUnix(nowSecs) },
			watermark,
			more,
			requests: client.stats.requests - requestsBefore
		});
	} catch (err) {
		const error = messageOf(err);
		const watermark = claimedSecs === null ? null : fromUnix(claimedSecs);
		// Windows completed before the failure are still claimed: everything in them committed.
		await recordSyncResult(ctx, {
			connectionId: creds.id,
			ok: false,
			watermark,
			error: `sync failed: ${error}`,
			detail: { counts, status: err instanceof UpstreamError ? err.status : null }
		});
		return result({
			status: 'failed',
			window: { from: fromUnix(fromSecs), to: fromUnix(nowSecs) },
			watermark,
			error,
			requests: client.stats.requests - requestsBefore
		});
	} finally {
		if (owned) await client.close();
	}
}

/**
 * Enabled connections whose last poll is older than the interval (four intervals after a failed poll, so a dead
 * endpoint is not hammered every few minutes). `lastPollOk` (null: never polled) lets the scheduler order them.
 */
export async function listConnectionsDueForSync({
	ctx,
	input
}: {
	ctx: IngestCtx;
	input: { intervalMinutes: number; now?: Date };
}): Promise<{ connectionId: string; lastPollOk: boolean | null }[]> {
	const now = input.now ?? new Date();
	// The tick runs once a minute: half a minute of slack keeps a 5-minute interval from becoming 6.
	const healthyBefore = new Date(now.getTime() - input.intervalMinutes * 60_000 + 30_000);
	const failingBefore = new Date(now.getTime() - 4 * input.intervalMinutes * 60_000 + 30_000);
	return ctx.db
		.select({ connectionId: elevenlabsConnection.id, lastPollOk: ingestionStatus.lastPollOk })
		.from(elevenlabsConnection)
		.leftJoin(ingestionStatus, eq(ingestionStatus.connectionId, elevenlabsConnection.id))
		.where(
			and(
				eq(elevenlabsConnection.enabled, true),
				or(
					isNull(ingestionStatus.lastPollAt),
					and(sql`${ingestionStatus.lastPollOk} is not false`, lte(ingestionStatus.lastPollAt, healthyBefore)),
					and(eq(ingestionStatus.lastPollOk, false), lte(ingestionStatus.lastPollAt, failingBefore))
				)
			)
		);
}

/** Whether a run for the connection finished after `since` (a queued run older than that is redundant). */
export async function wasPolledSince({ ctx, input }: { ctx: IngestCtx; input: { connectionId: string; since: Date } }): Promise<boolean> {
	const [row] = await ctx.db
		.select({ at: ingestionStatus.lastPollAt })
		.from(ingestionStatus)
		.where(eq(ingestionStatus.connectionId, input.connectionId));
	return !!row?.at && row.at > input.since;
}

/**
 * Runs fn while holding the connection's sync lock (a session lock, released if the process dies), so one run per
 * connection talks to upstream at a time. `{ ran: false }` if the lock stayed busy for `waitMs`. Not needed for
 * correctness: concurrent runs only duplicate work; `held.signal` (the lock's connection closed) lets a run stop
 * between pages once another may have started.
 */
export function withConnectionSyncLock<T>(
	pg: postgres.Sql,
	connectionId: string,
	fn: (held: HeldLock) => Promise<T>,
	opts: { waitMs?: number } = {}
): Promise<{ ran: true; value: T } | { ran: false }> {
	return withSessionLock(pg, { id: LOCK_IDS.connectionSync, sub: connectionId }, { waitMs: opts.waitMs ?? 0 }, fn);
}
