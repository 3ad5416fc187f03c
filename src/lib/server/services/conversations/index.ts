import { and, desc, eq, isNotNull, lt, or } from 'drizzle-orm';
import { conversation } from '../../db/schema/index';
import { fetchTenantOwnedOrThrow } from '../scoped';
import type { TenantServiceCtx } from '../context';

// Conversations as a tenant sees them. Rows are written only by ingestion (ingest/upsert.ts); quarantined ones
// (tenant_id null) are invisible here by construction.

export interface ConversationListItem {
	conversationId: string;
	agentId: string;
	status: string | null;
	startedAt: Date | null;
	durationSecs: number;
	direction: string | null;
	callSuccessful: string | null;
	externalNumber: string | null;
	title: string | null;
	hasAudio: boolean;
	version: number;
}

const listColumns = {
	conversationId: conversation.conversationId,
	agentId: conversation.agentId,
	status: conversation.status,
	startedAt: conversation.startedAt,
	durationSecs: conversation.durationSecs,
	direction: conversation.direction,
	callSuccessful: conversation.callSuccessful,
	externalNumber: conversation.externalNumber,
	title: conversation.title,
	hasAudio: conversation.hasAudio,
	version: conversation.version
};

export type ConversationCursor = { startedAt: Date; conversationId: string };

/** The tenant's conversations, newest first, keyset-paged. Stubs without a start time are not listed. */
export async function listConversations({
	ctx,
	input = {}
}: {
	ctx: TenantServiceCtx;
	input?: { limit?: number; before?: ConversationCursor };
}): Promise<{ items: ConversationListItem[]; next: ConversationCursor | null }> {
	const limit = Math.min(200, Math.max(1, input.limit ?? 50));
	const b = input.before;
	const rows = await ctx.db
		.select(listColumns)
		.from(conversation)
		.where(
			and(
				eq(conversation.tenantId, ctx.tenant.id),
				isNotNull(conversation.startedAt),
				b ? or(lt(conversation.startedAt, b.startedAt), and(eq(conversation.startedAt, b.startedAt), lt(conversation.conversationId, b.conversationId))) : undefined
			)
		)
		.orderBy(desc(conversation.startedAt), desc(conversation.conversationId))
		.limit(limit + 1);
	const items = rows.slice(0, limit);
	const last = items[items.length - 1];
	return { items, next: rows.length > limit && last?.startedAt ? { startedAt: last.startedAt, conversationId: last.conversationId } : null };
}

/** One conversation of the tenant, details included; NOT_FOUND for another tenant's or a quarantined one. */
export async function getConversation({ ctx, input }: { ctx: TenantServiceCtx; input: { conversationId: string } }) {
	const row = await fetchTenantOwnedOrThrow(ctx.db, conversation, ctx.tenant.id, eq(conversation.conversationId, input.conversationId), 'Conversation');
	const { emittedFact: _fact, emittedVersion: _v, ...visible } = row;
	return visible;
}
