import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { inTransaction } from '../../db/client';
import { conversation, elevenlabsAgent, elevenlabsConnection, tenant } from '../../db/schema/index';
import { DomainError } from '../../errors';
import { QUARANTINE_CHANNEL } from '../../db/channels';
import { recordUpstreamAgents } from '../../ingest/agents';
import { isUuid } from '../../ingest/connections';
import { recordAudit } from '../audit/index';
import { assertPlatformActor, type ServiceCtx } from '../context';

// ElevenLabs agents per connection and the tenant each belongs to (agent_id → tenant). Conversations take their
// tenant from here; an agent mapped to no tenant sends its calls to quarantine until a platform admin maps it.

export interface AgentView {
	connectionId: string;
	connectionName: string;
	agentId: string;
	name: string | null;
	tenantId: string | null;
	tenantName: string | null;
	firstSeenAt: Date;
	mappedAt: Date | null;
	/** Conversations of this agent waiting in quarantine. */
	quarantined: number;
}

const quarantinedCount = sql<number>`(
	select count(*)::int from ${conversation}
	where ${conversation.connectionId} = ${elevenlabsAgent.connectionId}
		and ${conversation.agentId} = ${elevenlabsAgent.agentId}
		and ${conversation.tenantId} is null)`.mapWith(Number);

function agentQuery(db: ServiceCtx['db']) {
	return db
		.select({
			connectionId: elevenlabsAgent.connectionId,
			connectionName: elevenlabsConnection.name,
			agentId: elevenlabsAgent.agentId,
			name: elevenlabsAgent.name,
			tenantId: elevenlabsAgent.tenantId,
			tenantName: tenant.name,
			firstSeenAt: elevenlabsAgent.firstSeenAt,
			mappedAt: elevenlabsAgent.mappedAt,
			quarantined: quarantinedCount
		})
		.from(elevenlabsAgent)
		.innerJoin(elevenlabsConnection, eq(elevenlabsConnection.id, elevenlabsAgent.connectionId))
		.leftJoin(tenant, eq(tenant.id, elevenlabsAgent.tenantId));
}

export async function listAgents({
	ctx,
	input = {}
}: {
	ctx: ServiceCtx;
	input?: { connectionId?: string; unmappedOnly?: boolean };
}): Promise<AgentView[]> {
	assertPlatformActor(ctx.actor);
	if (input.connectionId !== undefined && !isUuid(input.connectionId)) return [];
	return agentQuery(ctx.db)
		.where(
			and(
				input.connectionId ? eq(elevenlabsAgent.connectionId, input.connectionId) : undefined,
				input.unmappedOnly ? isNull(elevenlabsAgent.tenantId) : undefined
			)
		)
		.orderBy(asc(elevenlabsConnection.name), asc(elevenlabsAgent.name), asc(elevenlabsAgent.agentId));
}

export interface MapAgentInput {
	connectionId: string;
	agentId: string;
	/** null unmaps: later calls go to quarantine (calls already counted stay with their tenant). */
	tenantId: string | null;
	name?: string | null;
}

/**
 * Maps an agent to a tenant (creating the agent row if it was never seen). Quarantined calls of the agent are
 * released by the worker, woken by a NOTIFY sent on commit; `awaitingRelease` says how many there are.
 */
export async function mapAgent({ ctx, input }: { ctx: ServiceCtx; input: MapAgentInput }): Promise<{ agent: AgentView; awaitingRelease: number }> {
	assertPlatformActor(ctx.actor);
	if (!isUuid(input.connectionId)) throw new DomainError('NOT_FOUND', 'Connection not found');
	if (input.tenantId !== null && !isUuid(input.tenantId)) throw new DomainError('NOT_FOUND', 'Tenant not found');
	return inTransaction(ctx.db, async (tx) => {
		const [conn] = await tx.select({ id: elevenlabsConnection.id }).from(elevenlabsConnection).where(eq(elevenlabsConnection.id, input.connectionId));
		if (!conn) throw new DomainError('NOT_FOUND', 'Connection not found');
		if (input.tenantId) {
			const [t] = await tx.select({ id: tenant.id }).from(tenant).where(eq(tenant.id, input.tenantId));
			if (!t) throw new DomainError('NOT_FOUND', 'Tenant not found');
		}
		const [before] = await tx
			.select()
			.from(elevenlabsAgent)
			.where(and(eq(elevenlabsAgent.connectionId, input.connectionId), eq(elevenlabsAgent.agentId, input.agentId)))
			.for('update');
		const now = new Date();
		const values = {
			tenantId: input.tenantId,
			mappedAt: input.tenantId ? now : null,
			updatedAt: now,
			...(input.name !== undefined ? { name: input.name } : {})
		};
		await tx
			.insert(elevenlabsAgent)
			.values({ connectionId: input.connectionId, agentId: input.agentId, ...values })
			.onConflictDoUpdate({ target: [elevenlabsAgent.connectionId, elevenlabsAgent.agentId], set: values });
		const [agent] = await agentQuery(tx).where(and(eq(elevenlabsAgent.connectionId, input.connectionId), eq(elevenlabsAgent.agentId, input.agentId)));
		await recordAudit(tx, ctx, {
			tenantId: input.tenantId ?? before?.tenantId ?? null,
			action: input.tenantId ? 'agent.map' : 'agent.unmap',
			targetType: 'elevenlabs_agent',
			targetId: `${input.connectionId}/${input.agentId}`,
			before: before ? { tenantId: before.tenantId } : null,
			after: { tenantId: input.tenantId }
		});
		if (input.tenantId) await tx.execute(sql`select pg_notify(${QUARANTINE_CHANNEL}, ${input.agentId})`);
		return { agent, awaitingRelease: input.tenantId ? agent.quarantined : 0 };
	});
}

/** Records agents listed upstream: new ones unmapped, names refreshed (the backfill uses the engine verb directly). */
export async function upsertAgentsFromUpstream({
	ctx,
	input
}: {
	ctx: ServiceCtx;
	input: { connectionId: string; agents: { agentId: string; name: string | null }[] };
}): Promise<{ added: number }> {
	assertPlatformActor(ctx.actor);
	return recordUpstreamAgents({ ctx, input });
}
