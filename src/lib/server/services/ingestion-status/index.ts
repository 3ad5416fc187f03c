import { and, asc, desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import { conversation, elevenlabsConnection, ingestionError, ingestionStatus, outbox, tenant, webhookInbox } from '../../db/schema/index';
import { webhookPathFor } from '../../ingest/connections';
import type { IngestionErrorSource } from '../../ingest/status';
import { assertPlatformActor, type ServiceCtx } from '../context';

// Per-connection ingestion health for the admin page. The writes that feed it (poll results, the last webhook,
// recent errors) are ingestion's own bookkeeping: ingest/status.ts.

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

