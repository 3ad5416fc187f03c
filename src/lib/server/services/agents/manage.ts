import { and, asc, count, eq, ilike, or, sql, type SQL } from 'drizzle-orm';
import { inTransaction, type DbOrTx } from '../../db/client';
import { conversation, elevenlabsAgent, elevenlabsConnection, phoneNumber, tenant } from '../../db/schema/index';
import { createElevenLabsClient } from '../../elevenlabs/client';
import type { AgentDetail, AgentWrite } from '../../elevenlabs/management';
import { toReadableUpstreamError } from '../../elevenlabs/readable-error';
import { DomainError } from '../../errors';
import { assertPlatformActor } from '../context';
import { recordAudit } from '../audit/index';
import { isUuid } from '../../ingest/connections';
import { openConnectionCredentials } from '../connections/index';
import { managementClientFor } from '../connections/upstream';
import type { ServiceCtx, TenantServiceCtx } from '../context';
import { tenantAdminsMayManageAgents } from '../platform-settings/index';
import { upsertAgentsFromUpstream } from './index';

// Agents edited through the upstream API. Upstream first, then our row and the audit entry in one transaction:
// a refused or failed upstream call throws before anything here changes.

export interface AgentFields {
	name: string;
	firstMessage: string;
	systemPrompt: string;
	llm: string;
	temperature: number;
	language: string;
	voiceId: string;
	ttsModel: string;
	/** Data to extract from each call: id → what it is. */
	dataCollection: Array<{ id: string; type: 'string' | 'boolean' | 'integer' | 'number'; description: string }>;
	/** Success criteria judged on each call. */
	evaluationCriteria: Array<{ id: string; name: string; prompt: string }>;
}

export interface AgentStats {
	calls: number;
	answered: number;
	failed: number;
	successful: number;
	totalSeconds: number;
	/** Upstream cost units (credits), summed. */
	cost: number;
	lastCallAt: Date | null;
}

export interface ManagedAgentRow {
	connectionId: string;
	connectionName: string;
	agentId: string;
	name: string | null;
	tenantId: string | null;
	tenantName: string | null;
	numbers: number;
	stats: AgentStats;
}

export interface ManagedAgent extends ManagedAgentRow {
	fields: AgentFields;
}

function toUpstream(f: Partial<AgentFields>): AgentWrite {
	const agent: Record<string, unknown> = {};
	const prompt: Record<string, unknown> = {};
	const tts: Record<string, unknown> = {};
	if (f.firstMessage !== undefined) agent.first_message = f.firstMessage;
	if (f.language !== undefined) agent.language = f.language;
	if (f.systemPrompt !== undefined) prompt.prompt = f.systemPrompt;
	if (f.llm !== undefined) prompt.llm = f.llm;
	if (f.temperature !== undefined) prompt.temperature = f.temperature;
	if (Object.keys(prompt).length) agent.prompt = prompt;
	if (f.voiceId !== undefined) tts.voice_id = f.voiceId;
	if (f.ttsModel !== undefined) tts.model_id = f.ttsModel;
	const conversation_config: Record<string, unknown> = {};
	if (Object.keys(agent).length) conversation_config.agent = agent;
	if (Object.keys(tts).length) conversation_config.tts = tts;
	const platform_settings: Record<string, unknown> = {};
	if (f.dataCollection !== undefined)
		platform_settings.data_collection = Object.fromEntries(f.dataCollection.map((d) => [d.id, { type: d.type, description: d.description }]));
	if (f.evaluationCriteria !== undefined)
		platform_settings.evaluation = { criteria: f.evaluationCriteria.map((c) => ({ id: c.id, name: c.name, type: 'prompt', conversation_goal_prompt: c.prompt })) };
	return {
		...(f.name !== undefined ? { name: f.name } : {}),
		...(Object.keys(conversation_config).length ? { conversation_config } : {}),
		...(Object.keys(platform_settings).length ? { platform_settings } : {})
	};
}

const DATA_TYPES = new Set(['string', 'boolean', 'integer', 'number']);

function fromUpstream(d: AgentDetail): AgentFields {
	const a = d.conversation_config.agent;
	return {
		name: d.name ?? '',
		firstMessage: a?.first_message ?? '',
		systemPrompt: a?.prompt?.prompt ?? '',
		llm: a?.prompt?.llm ?? '',
		temperature: a?.prompt?.temperature ?? 0,
		language: a?.language ?? 'en',
		voiceId: d.conversation_config.tts?.voice_id ?? '',
		ttsModel: d.conversation_config.tts?.model_id ?? '',
		dataCollection: Object.entries(d.platform_settings?.data_collection ?? {}).map(([id, v]) => ({
			id,
			type: (DATA_TYPES.has(v.type) ? v.type : 'string') as AgentFields['dataCollection'][number]['type'],
			description: v.description ?? ''
		})),
		evaluationCriteria: (d.platform_settings?.evaluation?.criteria ?? []).map((c) => ({ id: c.id, name: c.name ?? c.id, prompt: c.conversation_goal_prompt ?? '' }))
	};
}

// Statistics from PostgreSQL's conversation rows (every call, counted or quarantined, of this agent).
const statsColumns = {
	calls: sql<number>`count(${conversation.id})::int`.mapWith(Number),
	answered: sql<number>`count(${conversation.id}) filter (where ${conversation.status} = 'done')::int`.mapWith(Number),
	failed: sql<number>`count(${conversation.id}) filter (where ${conversation.status} = 'failed')::int`.mapWith(Number),
	successful: sql<number>`count(${conversation.id}) filter (where ${conversation.callSuccessful} = 'success')::int`.mapWith(Number),
	totalSeconds: sql<number>`coalesce(sum(${conversation.durationSecs}), 0)::bigint`.mapWith(Number),
	cost: sql<number>`coalesce(sum(${conversation.cost}), 0)::float8`.mapWith(Number),
	lastCallAt: sql<Date | null>`max(${conversation.startedAt})`.mapWith((v: string | null) => (v ? new Date(v) : null))
};

async function queryAgents(db: DbOrTx, where: SQL | undefined, page: { limit: number; offset: number }) {
	const rows = await db
		.select({
			connectionId: elevenlabsAgent.connectionId,
			connectionName: elevenlabsConnection.name,
			agentId: elevenlabsAgent.agentId,
			name: elevenlabsAgent.name,
			tenantId: elevenlabsAgent.tenantId,
			tenantName: tenant.name,
			numbers: sql<number>`(select count(*)::int from ${phoneNumber} where ${phoneNumber.connectionId} = ${elevenlabsAgent.connectionId}
				and ${phoneNumber.agentId} = ${elevenlabsAgent.agentId} and ${phoneNumber.status} <> 'released')`.mapWith(Number),
			...statsColumns
		})
		.from(elevenlabsAgent)
		.innerJoin(elevenlabsConnection, eq(elevenlabsConnection.id, elevenlabsAgent.connectionId))
		.leftJoin(tenant, eq(tenant.id, elevenlabsAgent.tenantId))
		.leftJoin(conversation, and(eq(conversation.connectionId, elevenlabsAgent.connectionId), eq(conversation.agentId, elevenlabsAgent.agentId)))
		.where(where)
		.groupBy(elevenlabsAgent.connectionId, elevenlabsAgent.agentId, elevenlabsConnection.name, tenant.name)
		.orderBy(asc(elevenlabsAgent.name), asc(elevenlabsAgent.agentId))
		.limit(page.limit)
		.offset(page.offset);
	return rows.map(
		({ calls, answered, failed, successful, totalSeconds, cost, lastCallAt, ...r }): ManagedAgentRow => ({
			...r,
			stats: { calls, answered, failed, successful, totalSeconds, cost, lastCallAt }
		})
	);
}

export interface ListManagedAgentsInput {
	search?: string;
	connectionId?: string;
	tenantId?: string;
	page?: number;
	pageSize?: number;
}

function listWhere(input: ListManagedAgentsInput, tenantId?: string): SQL | undefined {
	const q = input.search?.trim();
	return and(
		tenantId ? eq(elevenlabsAgent.tenantId, tenantId) : input.tenantId && isUuid(input.tenantId) ? eq(elevenlabsAgent.tenantId, input.tenantId) : undefined,
		input.connectionId && isUuid(input.connectionId) ? eq(elevenlabsAgent.connectionId, input.connectionId) : undefined,
		q ? or(ilike(elevenlabsAgent.name, `%${q.replace(/[%_\\]/g, '\\$&')}%`), eq(elevenlabsAgent.agentId, q)) : undefined
	);
}

async function pageOf(db: DbOrTx, input: ListManagedAgentsInput, tenantId?: string) {
	const pageSize = input.pageSize ?? 20;
	const page = Math.max(1, input.page ?? 1);
	const where = listWhere(input, tenantId);
	const [{ total }] = await db.select({ total: count() }).from(elevenlabsAgent).where(where);
	const rows = await queryAgents(db, where, { limit: pageSize, offset: (page - 1) * pageSize });
	return { rows, total, page, pageSize };
}

/** Platform admins: every agent of every connection, with call statistics. */
export async function listManagedAgents({ ctx, input }: { ctx: ServiceCtx; input: ListManagedAgentsInput }) {
	assertPlatformActor(ctx.actor);
	return pageOf(ctx.db, input);
}

async function localAgentOrThrow(db: DbOrTx, connectionId: string, agentId: string, tenantId?: string): Promise<ManagedAgentRow> {
	if (!isUuid(connectionId)) throw new DomainError('NOT_FOUND', 'Agent not found');
	const [row] = await queryAgents(
		db,
		and(eq(elevenlabsAgent.connectionId, connectionId), eq(elevenlabsAgent.agentId, agentId), tenantId ? eq(elevenlabsAgent.tenantId, tenantId) : undefined),
		{ limit: 1, offset: 0 }
	);
	if (!row) throw new DomainError('NOT_FOUND', 'Agent not found');
	return row;
}

async function upstream<T>(fn: () => Promise<T>, what: string): Promise<T> {
	try {
		return await fn();
	} catch (err) {
		throw toReadableUpstreamError(err, 'ElevenLabs', what);
	}
}

export interface AgentRef {
	connectionId: string;
	agentId: string;
}

export async function getManagedAgent({ ctx, input }: { ctx: ServiceCtx; input: AgentRef }): Promise<ManagedAgent> {
	assertPlatformActor(ctx.actor);
	const row = await localAgentOrThrow(ctx.db, input.connectionId, input.agentId);
	const client = await managementClientFor(ctx, input.connectionId);
	const detail = await upstream(() => client.getAgent(input.agentId), 'load the agent');
	return { ...row, fields: fromUpstream(detail) };
}

async function ensureTenant(db: DbOrTx, tenantId: string | null | undefined): Promise<void> {
	if (!tenantId) return;
	const [t] = await db.select({ id: tenant.id }).from(tenant).where(eq(tenant.id, tenantId));
	if (!t) throw new DomainError('NOT_FOUND', 'Tenant not found');
}

export async function createManagedAgent({
	ctx,
	input
}: {
	ctx: ServiceCtx;
	input: { connectionId: string; tenantId: string | null; fields: AgentFields };
}): Promise<ManagedAgentRow> {
	assertPlatformActor(ctx.actor);
	await ensureTenant(ctx.db, input.tenantId);
	const client = await managementClientFor(ctx, input.connectionId);
	const { agentId } = await upstream(() => client.createAgent(toUpstream(input.fields)), 'create the agent');
	return inTransaction(ctx.db, async (tx) => {
		const now = new Date();
		await tx
			.insert(elevenlabsAgent)
			.values({ connectionId: input.connectionId, agentId, name: input.fields.name, tenantId: input.tenantId, mappedAt: input.tenantId ? now : null })
			.onConflictDoNothing();
		await recordAudit(tx, ctx, {
			tenantId: input.tenantId,
			action: 'agent.create',
			targetType: 'elevenlabs_agent',
			targetId: `${input.connectionId}/${agentId}`,
			after: { ...input.fields, tenantId: input.tenantId }
		});
		return localAgentOrThrow(tx, input.connectionId, agentId);
	});
}

async function updateAgentUpstreamAndLocally(ctx: ServiceCtx, row: ManagedAgentRow, fields: Partial<AgentFields>): Promise<ManagedAgent> {
	const client = await managementClientFor(ctx, row.connectionId);
	const before = await upstream(() => client.getAgent(row.agentId), 'load the agent');
	const after = await upstream(() => client.updateAgent(row.agentId, toUpstream(fields)), 'save the agent');
	return inTransaction(ctx.db, async (tx) => {
		if (after.name !== undefined)
			await tx
				.update(elevenlabsAgent)
				.set({ name: after.name ?? null, updatedAt: new Date() })
				.where(and(eq(elevenlabsAgent.connectionId, row.connectionId), eq(elevenlabsAgent.agentId, row.agentId)));
		await recordAudit(tx, ctx, {
			tenantId: row.tenantId,
			action: 'agent.update',
			targetType: 'elevenlabs_agent',
			targetId: `${row.connectionId}/${row.agentId}`,
			before: { ...fromUpstream(before) },
			after: { ...fromUpstream(after) }
		});
		return { ...(await localAgentOrThrow(tx, row.connectionId, row.agentId)), fields: fromUpstream(after) };
	});
}

export async function updateManagedAgent({ ctx, input }: { ctx: ServiceCtx; input: AgentRef & { fields: Partial<AgentFields> } }): Promise<ManagedAgent> {
	assertPlatformActor(ctx.actor);
	const row = await localAgentOrThrow(ctx.db, input.connectionId, input.agentId);
	return updateAgentUpstreamAndLocally(ctx, row, input.fields);
}

export async function duplicateManagedAgent({ ctx, input }: { ctx: ServiceCtx; input: AgentRef & { name?: string } }): Promise<ManagedAgentRow> {
	assertPlatformActor(ctx.actor);
	const source = await localAgentOrThrow(ctx.db, input.connectionId, input.agentId);
	const client = await managementClientFor(ctx, input.connectionId);
	const name = input.name ?? `${source.name ?? source.agentId} (copy)`;
	const { agentId } = await upstream(() => client.duplicateAgent(input.agentId, name), 'duplicate the agent');
	return inTransaction(ctx.db, async (tx) => {
		// The copy starts in the source's tenant: duplicating is how an admin clones a tenant's setup.
		await tx
			.insert(elevenlabsAgent)
			.values({ connectionId: input.connectionId, agentId, name, tenantId: source.tenantId, mappedAt: source.tenantId ? new Date() : null })
			.onConflictDoNothing();
		await recordAudit(tx, ctx, {
			tenantId: source.tenantId,
			action: 'agent.duplicate',
			targetType: 'elevenlabs_agent',
			targetId: `${input.connectionId}/${agentId}`,
			before: { sourceAgentId: input.agentId },
			after: { name, tenantId: source.tenantId }
		});
		return localAgentOrThrow(tx, input.connectionId, agentId);
	});
}

/** Deletes the agent upstream and its mapping here. Refused while a number still answers with it. */
export async function deleteManagedAgent({ ctx, input }: { ctx: ServiceCtx; input: AgentRef }): Promise<{ deleted: true }> {
	assertPlatformActor(ctx.actor);
	const row = await localAgentOrThrow(ctx.db, input.connectionId, input.agentId);
	if (row.numbers > 0) throw new DomainError('CONFLICT', `${row.numbers} phone number(s) answer with this agent; assign them elsewhere first`);
	const client = await managementClientFor(ctx, input.connectionId);
	try {
		await client.deleteAgent(input.agentId);
	} catch (err) {
		const readable = toReadableUpstreamError(err, 'ElevenLabs', 'delete the agent');
		// Already gone upstream: deleting it here finishes the job.
		if (!(readable instanceof DomainError && readable.code === 'NOT_FOUND')) throw readable;
	}
	await inTransaction(ctx.db, async (tx) => {
		await tx.delete(elevenlabsAgent).where(and(eq(elevenlabsAgent.connectionId, row.connectionId), eq(elevenlabsAgent.agentId, row.agentId)));
		await recordAudit(tx, ctx, {
			tenantId: row.tenantId,
			action: 'agent.delete',
			targetType: 'elevenlabs_agent',
			targetId: `${row.connectionId}/${row.agentId}`,
			before: { name: row.name, tenantId: row.tenantId, calls: row.stats.calls }
		});
	});
	return { deleted: true };
}

/** Registers every agent of the connection's workspace (new ones unmapped, ready to assign to a tenant). */
export async function importWorkspaceAgents({ ctx, input }: { ctx: ServiceCtx; input: { connectionId: string } }): Promise<{ listed: number; added: number }> {
	assertPlatformActor(ctx.actor);
	const creds = await openConnectionCredentials({ ctx, input });
	const reader = createElevenLabsClient({ baseUrl: creds.baseUrl, apiKey: creds.apiKey, maxRetries: 2 });
	try {
		const { agents } = await upstream(() => reader.listAgents(), 'list the workspace agents');
		return inTransaction(ctx.db, async (tx) => {
			const { added } = await upsertAgentsFromUpstream({
				ctx: { ...ctx, db: tx },
				input: { connectionId: creds.id, agents: agents.map((a) => ({ agentId: a.agent_id, name: a.name ?? null })) }
			});
			await recordAudit(tx, ctx, { tenantId: null, action: 'agent.import', targetType: 'elevenlabs_connection', targetId: creds.id, after: { listed: agents.length, added } });
			return { listed: agents.length, added };
		});
	} finally {
		await reader.close();
	}
}

// ---------------------------------------------------------------------------------------------------------------
// Tenant admins, when the platform setting allows it: their own tenant's agents only.

async function assertSelfServiceAllowed(ctx: TenantServiceCtx): Promise<void> {
	if (ctx.role === 'platform_admin') return;
	if (!(await tenantAdminsMayManageAgents(ctx.db))) throw new DomainError('FORBIDDEN', 'Agents are managed by the platform admins');
}

export async function listTenantAgents({ ctx, input }: { ctx: TenantServiceCtx; input: ListManagedAgentsInput }) {
	return pageOf(ctx.db, { search: input.search, page: input.page, pageSize: input.pageSize }, ctx.tenant.id);
}

export async function getTenantAgent({ ctx, input }: { ctx: TenantServiceCtx; input: AgentRef }): Promise<ManagedAgent> {
	await assertSelfServiceAllowed(ctx);
	const row = await localAgentOrThrow(ctx.db, input.connectionId, input.agentId, ctx.tenant.id);
	const client = await managementClientFor(ctx, input.connectionId);
	return { ...row, fields: fromUpstream(await upstream(() => client.getAgent(input.agentId), 'load the agent')) };
}

export async function updateTenantAgent({ ctx, input }: { ctx: TenantServiceCtx; input: AgentRef & { fields: Partial<AgentFields> } }): Promise<ManagedAgent> {
	await assertSelfServiceAllowed(ctx);
	const row = await localAgentOrThrow(ctx.db, input.connectionId, input.agentId, ctx.tenant.id);
	return updateAgentUpstreamAndLocally(ctx, row, input.fields);
}
