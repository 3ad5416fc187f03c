import { eq, lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { ingestionError, ingestionStatus, type INGESTION_ERROR_SOURCES } from '../db/schema/index';
import { log } from '../log';
import { isPostgresUnavailable } from '../outage';
import type { IngestCtx } from './context';

// Ingestion's bookkeeping, read by the admin page (services/ingestion-status): poll results and the polling
// watermark (from the sync), the last webhook (from the processor), and recent errors (aggregated so a flood stays
// a few rows).

export type IngestionErrorSource = (typeof INGESTION_ERROR_SOURCES)[number];

export async function recordIngestionError({
	ctx,
	input
}: {
	ctx: IngestCtx;
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
	ctx: IngestCtx;
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
export async function getPollWatermark({ ctx, input }: { ctx: IngestCtx; input: { connectionId: string } }): Promise<Date | null> {
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
			if (isPostgresUnavailable(err)) {
				// PostgreSQL is away (the outage reporter says so): keep the counts for the next flush.
				for (const r of rows) {
					const key = `${r.connectionId}\u0000${r.source}\u0000${r.message}`;
					const hit = this.pending.get(key);
					if (hit) hit.count += r.count;
					else this.pending.set(key, r);
				}
				if (!this.timer && this.pending.size > 0) {
					this.timer = setTimeout(() => void this.flush(), this.intervalMs);
					this.timer.unref();
				}
				return;
			}
			// Recording an error must never become the error; the log keeps it.
			log.warn('could not record ingestion errors', { err, rows: rows.length });
		}
	}
}
