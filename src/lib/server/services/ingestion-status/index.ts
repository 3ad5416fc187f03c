import { and, asc, desc, eq, gt, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import {
	conversation,
	elevenlabsConnection,
	ingestionError,
	ingestionStatus,
	outbox,
	tenant,
	webhookInbox,
	type INGESTION_ERROR_SOURCES
} from '../../db/schema/index';
import { assertPlatformActor } from '../../ingest/context';
import { log } from '../../log';
import type { ServiceCtx } from '../context';
import { webhookPathFor } from '../connections/index';

// Per-connection ingestion health for the admin page, and the writes that feed it: poll results (from the
// sync), the last webhook (from the processor), and recent errors (aggregated so a flood stays a few rows).

export type IngestionErrorSource = (typeof INGESTION_ERROR_SOURCES)[number];

export interface IngestionErrorView {
	id: number;
	occurredAt: Date;
	source: IngestionErrorSource;
	message: string;
	count: number;
	detail: unknown;
}

export interface ConnectionIngestionStatus {
	connectionId: string;
	name: string;
	tenantId: string | null;
	tenantName: string | null;
	enabled: boolean;
	webhookPath: string;
	lastWebhookAt: Date | null;
	lastPollAt: Date | null;
	lastPollOk: boolean | null;
	watermark: Date | null;
	inboxPending: number;
	inboxFailed: number;
	outboxPending: number;
	outboxOldestPendingSeconds: number | null;
	quarantined: number;
	recentErrors: IngestionErrorView[];
}

export async function recordIngestionError({
	ctx,
	input
}: {
	ctx: ServiceCtx;
	input: { connectionId: string | null; source: IngestionErrorSource; message: string; detail?: unknown; count?: number };
}): Promise<void> {
	await ctx.db.insert(ingestionError).values({
		connectionId: input.connectionId,
		source: input.source,
		message: input.message.slice(0, 2000),
		count: input.count ?? 1,
		detail: input.detail ?? null
	});
}

/** Called by the polling sync after each run for a connection. */
export async function recordPollResult({
	ctx,
	input
}: {
	ctx: ServiceCtx;
	input: { connectionId: string; ok: boolean; at?: Date; watermark?: Date | null; error?: string; detail?: unknown };
}): Promise<void> {
	const at = input.at ?? new Date();
	await ctx.db
		.insert(ingestionStatus)
		.values({ connectionId: input.connectionId, lastPollAt: at, lastPollOk: input.ok, watermark: input.watermark ?? null, updatedAt: at })
		.onConflictDoUpdate({
			target: ingestionStatus.connectionId,
			set: {
				lastPollAt: at,
				lastPollOk: input.ok,
				// A watermark only moves forward; a failed run passes none and keeps it. postgres.js binds no raw
				// Date inside a sql fragment, so it goes in as ISO text with a cast.
				...(input.watermark ? { watermark: sql`greatest(${ingestionStatus.watermark}, ${input.watermark.toISOString()}::timestamptz)` } : {}),
				updatedAt: at
			}
		});
	if (!input.ok) {
		await recordIngestionError({
			ctx,
			input: { connectionId: input.connectionId, source: 'poll', message: input.error ?? 'poll failed', detail: input.detail }
		});
	}
}

/** The polling sync's resume point for a connection (null before the first successful run). */
export async function getPollWatermark({ ctx, input }: { ctx: ServiceCtx; input: { connectionId: string } }): Promise<Date | null> {
	const [row] = await ctx.db
		.select({ watermark: ingestionStatus.watermark })
		.from(ingestionStatus)
		.where(eq(ingestionStatus.connectionId, input.connectionId));
	return row?.watermark ?? null;
}

/** Processor bookkeeping: the newest webhook received per connection in a processed batch. */
export async function recordWebhooksSeen(db: DbOrTx, seen: Map<string, Date>): Promise<void> {
	if (seen.size === 0) return;
	await db
		.insert(ingestionStatus)
		.values([...seen].map(([connectionId, at]) => ({ connectionId, lastWebhookAt: at })))
		.onConflictDoUpdate({
			target: ingestionStatus.connectionId,
			set: { lastWebhookAt: sql`greatest(${ingestionStatus.lastWebhookAt}, excluded.last_webhook_at)`, updatedAt: sql`now()` }
		});
}

const RECENT_ERRORS = 10;

export async function getIngestionStatus({ ctx }: { ctx: ServiceCtx }): Promise<ConnectionIngestionStatus[]> {
	assertPlatformActor(ctx.actor);
	const db = ctx.db;
	const connections = await db
		.select({
			connectionId: elevenlabsConnection.id,
			name: elevenlabsConnection.name,
			tenantId: elevenlabsConnection.tenantId,
			tenantName: tenant.name,
			enabled: elevenlabsConnection.enabled,
			lastWebhookAt: ingestionStatus.lastWebhookAt,
			lastPollAt: ingestionStatus.lastPollAt,
			lastPollOk: ingestionStatus.lastPollOk,
			watermark: ingestionStatus.watermark
		})
		.from(elevenlabsConnection)
		.leftJoin(tenant, eq(tenant.id, elevenlabsConnection.tenantId))
		.leftJoin(ingestionStatus, eq(ingestionStatus.connectionId, elevenlabsConnection.id))
		.orderBy(asc(elevenlabsConnection.name));
	if (connections.length === 0) return [];
	const ids = connections.map((c) => c.connectionId);
	const [inbox, lastReceived, pendingOutbox, quarantine, errors] = await Promise.all([
		db
			.select({
				connectionId: webhookInbox.connectionId,
				pending: sql<number>`count(*) filter (where ${webhookInbox.status} = 'pending')`.mapWith(Number),
				failed: sql<number>`count(*) filter (where ${webhookInbox.status} = 'failed')`.mapWith(Number)
			})
			.from(webhookInbox)
			.where(and(inArray(webhookInbox.connectionId, ids), inArray(webhookInbox.status, ['pending', 'failed'])))
			.groupBy(webhookInbox.connectionId),
		// Still-unprocessed deliveries count as "last webhook" too: a stalled processor must not hide traffic.
		db
			.select({ connectionId: webhookInbox.connectionId, at: sql<Date>`max(${webhookInbox.receivedAt})`.mapWith(webhookInbox.receivedAt) })
			.from(webhookInbox)
			.where(and(inArray(webhookInbox.connectionId, ids), eq(webhookInbox.status, 'pending')))
			.groupBy(webhookInbox.connectionId),
		db
			.select({
				connectionId: outbox.connectionId,
				pending: sql<number>`count(*)`.mapWith(Number),
				oldest: sql<number | null>`extract(epoch from now() - min(${outbox.createdAt}))::int`
			})
			.from(outbox)
			.where(inArray(outbox.connectionId, ids))
			.groupBy(outbox.connectionId),
		db
			.select({ connectionId: conversation.connectionId, n: sql<number>`count(*)`.mapWith(Number) })
			.from(conversation)
			.where(and(isNull(conversation.tenantId), inArray(conversation.connectionId, ids)))
			.groupBy(conversation.connectionId),
		db
			.select()
			.from(ingestionError)
			.where(
				and(
					inArray(ingestionError.connectionId, ids),
					gt(ingestionError.occurredAt, sql`now() - interval '7 days'`)
				)
			)
			.orderBy(desc(ingestionError.occurredAt))
			.limit(RECENT_ERRORS * ids.length)
	]);
	const by = <T extends { connectionId: string | null }>(rows: T[]) => new Map(rows.map((r) => [r.connectionId, r]));
	const inboxBy = by(inbox);
	const receivedBy = by(lastReceived);
	const outboxBy = by(pendingOutbox);
	const quarantineBy = by(quarantine);
	return connections.map((c) => {
		const received = receivedBy.get(c.connectionId)?.at ?? null;
		const lastWebhookAt = [c.lastWebhookAt, received].filter((d): d is Date => d instanceof Date).sort((a, b) => b.getTime() - a.getTime())[0] ?? null;
		return {
			...c,
			webhookPath: webhookPathFor(c.connectionId),
			lastWebhookAt,
			inboxPending: inboxBy.get(c.connectionId)?.pending ?? 0,
			inboxFailed: inboxBy.get(c.connectionId)?.failed ?? 0,
			outboxPending: outboxBy.get(c.connectionId)?.pending ?? 0,
			outboxOldestPendingSeconds: outboxBy.get(c.connectionId)?.oldest ?? null,
			quarantined: quarantineBy.get(c.connectionId)?.n ?? 0,
			recentErrors: errors
				.filter((e) => e.connectionId === c.connectionId)
				.slice(0, RECENT_ERRORS)
				.map((e) => ({ id: e.id, occurredAt: e.occurredAt, source: e.source, message: e.message, count: e.count, detail: e.detail }))
		};
	});
}

/** Errors not tied to one connection (e.g. the relay while ClickHouse is down). */
export async function listPlatformIngestionErrors({ ctx, input }: { ctx: ServiceCtx; input?: { limit?: number } }): Promise<IngestionErrorView[]> {
	assertPlatformActor(ctx.actor);
	const rows = await ctx.db
		.select()
		.from(ingestionError)
		.where(isNull(ingestionError.connectionId))
		.orderBy(desc(ingestionError.occurredAt))
		.limit(input?.limit ?? RECENT_ERRORS);
	return rows.map((e) => ({ id: e.id, occurredAt: e.occurredAt, source: e.source, message: e.message, count: e.count, detail: e.detail }));
}

export async function pruneIngestionErrors(db: DbOrTx, olderThanDays = 7): Promise<number> {
	const rows = await db
		.delete(ingestionError)
		.where(lt(ingestionError.occurredAt, sql`now() - make_interval(days => ${olderThanDays})`))
		.returning({ id: ingestionError.id });
	return rows.length;
}

/**
 * Aggregates errors in memory and writes one row per (connection, source, message) per interval with a count,
 * so a flood of bad signatures or a long ClickHouse outage costs a few rows, not one per event.
 */
export class IngestionErrorRecorder {
	private pending = new Map<string, { connectionId: string | null; source: IngestionErrorSource; message: string; count: number; detail: unknown }>();
	private timer: NodeJS.Timeout | null = null;

	constructor(
		private readonly db: DbOrTx,
		private readonly intervalMs = 5_000
	) {}

	record(connectionId: string | null, source: IngestionErrorSource, message: string, detail?: unknown): void {
		const key = `${connectionId}\u0000${source}\u0000${message}`;
		const hit = this.pending.get(key);
		if (hit) hit.count++;
		else this.pending.set(key, { connectionId, source, message, count: 1, detail: detail ?? null });
		if (!this.timer) {
			this.timer = setTimeout(() => void this.flush(), this.intervalMs);
			this.timer.unref();
		}
	}

	async flush(): Promise<void> {
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		if (this.pending.size === 0) return;
		const rows = [...this.pending.values()];
		this.pending = new Map();
		try {
			await this.db.insert(ingestionError).values(
				rows.map((r) => ({ connectionId: r.connectionId, source: r.source, message: r.message.slice(0, 2000), count: r.count, detail: r.detail as never }))
			);
		} catch (err) {
			// Recording an error must never become the error; the log keeps it.
			log.warn('could not record ingestion errors', { err, rows: rows.length });
		}
	}
}
