import { z } from 'zod';
import { mapAgent } from '../../services/agents/index';
import {
	createManagedAgent,
	deleteManagedAgent,
	duplicateManagedAgent,
	getManagedAgent,
	getTenantAgent,
	importWorkspaceAgents,
	listManagedAgents,
	listTenantAgents,
	updateManagedAgent,
	updateTenantAgent
} from '../../services/agents/manage';
import { getPlatformSettings, updatePlatformSettings } from '../../services/platform-settings/index';
import { platformAdminProcedure, router, tenantProcedure } from '../init';

// ElevenLabs agents edited through the upstream API. Platform admins manage all of them; tenant admins edit
// their own tenant's when the platform setting allows it (tenantAgents).

const connectionId = z.uuid();
const agentId = z.string().trim().min(1).max(200);
const slug = z.string().trim().regex(/^[a-z0-9_]{1,64}$/, 'Use lower-case letters, digits and _');

export const agentFieldsInput = z.object({
	name: z.string().trim().min(1).max(120),
	firstMessage: z.string().max(2000),
	systemPrompt: z.string().max(20_000),
	llm: z.string().trim().min(1).max(80),
	temperature: z.number().min(0).max(2),
	language: z.string().trim().regex(/^[a-z]{2}(-[A-Za-z]{2,4})?$/, 'A language code such as en or pt-BR'),
	voiceId: z.string().trim().min(1).max(80),
	ttsModel: z.string().trim().min(1).max(80),
	dataCollection: z.array(z.object({ id: slug, type: z.enum(['string', 'boolean', 'integer', 'number']), description: z.string().max(500) })).max(40),
	evaluationCriteria: z.array(z.object({ id: slug, name: z.string().trim().min(1).max(120), prompt: z.string().max(2000) })).max(30)
});

const agentRef = z.object({ connectionId, agentId });
const listInput = z.object({
	search: z.string().trim().max(120).optional(),
	connectionId: connectionId.optional(),
	tenantId: z.uuid().optional(),
	page: z.number().int().min(1).max(10_000).optional(),
	pageSize: z.number().int().min(1).max(100).optional()
});
const createAgentInput = z.object({ connectionId, tenantId: z.uuid().nullable(), fields: agentFieldsInput });
const updateAgentInput = agentRef.extend({ fields: agentFieldsInput.partial() });
const duplicateAgentInput = agentRef.extend({ name: z.string().trim().min(1).max(120).optional() });
const importAgentsInput = z.object({ connectionId });
const assignAgentInput = agentRef.extend({ tenantId: z.uuid().nullable() });
const updateSettingsInput = z.object({ tenantAdminsManageAgents: z.boolean() });

export const agentsRouter = router({
	list: platformAdminProcedure.input(listInput).query(({ ctx, input }) => listManagedAgents({ ctx, input })),
	get: platformAdminProcedure.input(agentRef).query(({ ctx, input }) => getManagedAgent({ ctx, input })),
	create: platformAdminProcedure.input(createAgentInput).mutation(({ ctx, input }) => createManagedAgent({ ctx, input })),
	update: platformAdminProcedure.input(updateAgentInput).mutation(({ ctx, input }) => updateManagedAgent({ ctx, input })),
	duplicate: platformAdminProcedure.input(duplicateAgentInput).mutation(({ ctx, input }) => duplicateManagedAgent({ ctx, input })),
	delete: platformAdminProcedure.input(agentRef).mutation(({ ctx, input }) => deleteManagedAgent({ ctx, input })),
	/** Registers the workspace's existing agents (unmapped), ready to assign. */
	import: platformAdminProcedure.input(importAgentsInput).mutation(({ ctx, input }) => importWorkspaceAgents({ ctx, input })),
	/** Assigns an agent to a tenant (releases its quarantined calls), or unassigns it. */
	assign: platformAdminProcedure.input(assignAgentInput).mutation(async ({ ctx, input }) => {
		const r = await mapAgent({ ctx, input });
		return { tenantId: r.agent.tenantId, tenantName: r.agent.tenantName, awaitingRelease: r.awaitingRelease };
	}),
	settings: platformAdminProcedure.query(({ ctx }) => getPlatformSettings({ ctx })),
	updateSettings: platformAdminProcedure.input(updateSettingsInput).mutation(({ ctx, input }) => updatePlatformSettings({ ctx, input }))
});

const tenantListInput = z.object({ search: z.string().trim().max(120).optional(), page: z.number().int().min(1).max(10_000).optional() });

export const tenantAgentsRouter = router({
	list: tenantProcedure('settings:write').input(tenantListInput).query(({ ctx, input }) => listTenantAgents({ ctx, input })),
	get: tenantProcedure('settings:write').input(agentRef).query(({ ctx, input }) => getTenantAgent({ ctx, input })),
	update: tenantProcedure('settings:write').input(updateAgentInput).mutation(({ ctx, input }) => updateTenantAgent({ ctx, input }))
});
