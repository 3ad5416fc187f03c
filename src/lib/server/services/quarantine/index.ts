import { and, asc, desc, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { inTransaction } from '../../db/client';
import { conversation, elevenlabsAgent, elevenlabsConnection } from '../../db/schema/index';
import { isUuid } from '../../ingest/connections';
import { releaseConversationsToTheirTenants } from '../../ingest/upsert';
import { assertPlatformActor, type ServiceCtx } from '../context';

// Conversations whose agent is mapped to no tenant. They are stored (one row each, kept up to date like any
// other) but counted nowhere until the agent is mapped; platform admins see them here, grouped by agent.

export interface QuarantineGroup {
	connectionId: string;
	connectionName: string;
	agentId: string;
	agentName: string | null;
	conversations: number;
	oldestAt: Date;
	newestAt: Date;
}

export interface QuarantinedConversation {
	conversationId: string;
	connectionId: string;
	agentId: string;
	status: string | null;
	startedAt: Date | null;
	durationSecs: number;
	quarantinedAt: Date;
}

export async function listQuarantine({
	ctx,
	input = {}
}: {
	ctx: ServiceCtx;
	input?: { connectionId?: string };
}): Promise<{ total: number; groups: QuarantineGroup[] }> {
	assertPlatformActor(ctx.actor);
	if (input.connectionId !== undefined && !isUuid(input.connectionId)) return { total: 0, groups: [] };
	const groups = await ctx.db
		.select({
			connectionId: conversation.connectionId,
			connectionName: elevenlabsConnection.name,
			agentId: conversation.agentId,
			agentName: sql<string | null>`max(${elevenlabsAgent.name})`,
			conversations: sql<number>`count(*)::int`.mapWith(Number),
			oldestAt: sql<Date>`min(${conversation.quarantinedAt})`.mapWith(conversation.quarantinedAt),
			newestAt: sql<Date>`max(${conversation.quarantinedAt})`.mapWith(conversation.quarantinedAt)
		})
		.from(conversation)
		.innerJoin(elevenlabsConnection, eq(elevenlabsConnection.id, conversation.connectionId))
		.leftJoin(elevenlabsAgent, and(eq(elevenlabsAgent.connectionId, conversation.connectionId), eq(elevenlabsAgent.agentId, conversation.agentId)))
		.where(and(isNull(conversation.tenantId), input.connectionId ? eq(conversation.connectionId, input.connectionId) : undefined))
		.groupBy(conversation.connectionId, elevenlabsConnection.name, conversation.agentId)
		.orderBy(desc(sql`count(*)`), asc(conversation.agentId));
	return { total: groups.reduce((n, g) => n + g.conversations, 0), groups };
}

/** One agent's quarantined conversations, newest first, keyset-paged by (quarantinedAt, conversationId). */
export async function listQuarantinedConversations({
	ctx,
	input
}: {
	ctx: ServiceCtx;
	input: { connectionId: string; agentId: string; limit?: number; before?: { quarantinedAt: Date; conversationId: string } };
}): Promise<{ items: QuarantinedConversation[]; next: { quarantinedAt: Date; conversationId: string } | null }> {
	assertPlatformActor(ctx.actor);
	if (!isUuid(input.connectionId)) return { items: [], next: null };
	const limit = Math.min(200, Math.max(1, input.limit ?? 50));
	const b = input.before;
	const rows = await ctx.db
		.select({
			conversationId: conversation.conversationId,
			connectionId: conversation.connectionId,
			agentId: conversation.agentId,
			status: conversation.status,
			startedAt: conversation.startedAt,
			durationSecs: conversation.durationSecs,
			quarantinedAt: conversation.quarantinedAt
		})
		.from(conversation)
		.where(
			and(
				isNull(conversation.tenantId),
				eq(conversation.connectionId, input.connectionId),
				eq(conversation.agentId, input.agentId),
				b
					? or(lt(conversation.quarantinedAt, b.quarantinedAt), and(eq(conversation.quarantinedAt, b.quarantinedAt), lt(conversation.conversationId, b.conversationId)))
					: undefined
			)
		)
		.orderBy(desc(conversation.quarantinedAt), desc(conversation.conversationId))
		.limit(limit + 1);
	const items = rows.slice(0, limit).map((r) => ({ ...r, quarantinedAt: r.quarantinedAt ?? new Date(0) }));
	const last = items[items.length - 1];
	return { items, next: rows.length > limit && last ? { quarantinedAt: last.quarantinedAt, conversationId: last.conversationId } : null };
}

/**
 * Releases quarantined conversations whose agent is mapped by now (the worker does this on its own when an
 * agent is mapped; this runs it at once, e.g. from the admin page or a backfill). Loops in bounded batches.
 */
export async function releaseQuarantine({
	ctx,
	input = {}
}: {
	ctx: ServiceCtx;
	input?: { connectionId?: string; agentId?: string; maxBatches?: number };
}): Promise<{ released: number }> {
	assertPlatformActor(ctx.actor);
	if (input.connectionId !== undefined && !isUuid(input.connectionId)) return { released: 0 };
	let released = 0;
	for (let i = 0; i < (input.maxBatches ?? 20); i++) {
		const r = await releaseQuarantinedBatch({ ctx, input: { connectionId: input.connectionId, agentId: input.agentId, limit: 500 } });
		released += r.released;
		if (r.released === 0) break;
	}
	return { released };
}

/**
 * Gives quarantined conversations whose agent (or connection) now resolves to a tenant that tenant, and queues
 * their facts. Works in bounded batches; returns how many it released so a caller can loop until 0. The worker's
 * inbox loop runs it when an agent is mapped (jobs/handlers/webhook-process.ts passes it in).
 */
export async function releaseQuarantinedBatch({
	ctx,
	input
}: {
	ctx: ServiceCtx;
	input: { limit?: number; connectionId?: string; agentId?: string; now?: Date };
}): Promise<{ released: number }> {
	const limit = input.limit ?? 500;
	return inTransaction(ctx.db, async (tx) => {
		const filters = [isNull(conversation.tenantId), sql`coalesce(${elevenlabsAgent.tenantId}, ${elevenlabsConnection.tenantId}) is not null`];
		if (input.connectionId) filters.push(eq(conversation.connectionId, input.connectionId));
		if (input.agentId) filters.push(eq(conversation.agentId, input.agentId));
		const candidates = await tx
			.select({ conversationId: conversation.conversationId })
			.from(conversation)
			.innerJoin(elevenlabsConnection, eq(elevenlabsConnection.id, conversation.connectionId))
			.leftJoin(
				elevenlabsAgent,
				and(eq(elevenlabsAgent.connectionId, conversation.connectionId), eq(elevenlabsAgent.agentId, conversation.agentId))
			)
			.where(and(...filters))
			.limit(limit);
		const released = await releaseConversationsToTheirTenants(tx, candidates.map((c) => c.conversationId), input.now ?? new Date());
		return { released };
	});
}
