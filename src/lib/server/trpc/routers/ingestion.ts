import { z } from 'zod';
import { listAgents, mapAgent } from '../../services/agents/index';
import { createConnection, deleteConnection, getConnection, listConnections, updateConnection } from '../../services/connections/index';
import { testConnection } from '../../services/connections/upstream';
import { getIngestionStatus, listPlatformIngestionErrors } from '../../services/ingestion-status/index';
import { listQuarantine, listQuarantinedConversations, releaseQuarantine } from '../../services/quarantine/index';
import { platformAdminProcedure, router } from '../init';

// ElevenLabs ingestion administration: platform admins only (connections hold upstream secrets and agents decide
// which tenant a call belongs to).

const secret = z.string().trim().min(8, 'Use the full secret').max(512);
const connectionId = z.uuid();
const agentId = z.string().trim().min(1).max(200);

const createConnectionInput = z.object({
	name: z.string().trim().min(2).max(80),
	baseUrl: z.url({ protocol: /^https?$/ }),
	apiKey: secret,
	webhookSecret: secret,
	tenantId: z.uuid().nullable().optional()
});
const updateConnectionInput = z.object({
	connectionId,
	name: z.string().trim().min(2).max(80).optional(),
	baseUrl: z.url({ protocol: /^https?$/ }).optional(),
	apiKey: secret.optional(),
	webhookSecret: secret.optional(),
	enabled: z.boolean().optional(),
	tenantId: z.uuid().nullable().optional()
});
const connectionIdInput = z.object({ connectionId });
const listAgentsInput = z.object({ connectionId: connectionId.optional(), unmappedOnly: z.boolean().optional() }).optional();
const mapAgentInput = z.object({ connectionId, agentId, tenantId: z.uuid().nullable(), name: z.string().trim().max(200).nullable().optional() });
const listQuarantineInput = z.object({ connectionId: connectionId.optional() }).optional();
const listQuarantinedConversationsInput = z.object({
	connectionId,
	agentId,
	limit: z.number().int().min(1).max(200).optional(),
	before: z.object({ quarantinedAt: z.coerce.date(), conversationId: z.string() }).optional()
});
const releaseQuarantineInput = z.object({ connectionId: connectionId.optional(), agentId: agentId.optional() }).optional();

export const ingestionRouter = router({
	/** Per connection: last webhook, last poll, watermark, outbox lag, quarantine, recent errors. */
	status: platformAdminProcedure.query(async ({ ctx }) => ({
		connections: await getIngestionStatus({ ctx }),
		platformErrors: await listPlatformIngestionErrors({ ctx })
	})),
	connections: router({
		list: platformAdminProcedure.query(({ ctx }) => listConnections({ ctx })),
		get: platformAdminProcedure.input(connectionIdInput).query(({ ctx, input }) => getConnection({ ctx, input })),
		create: platformAdminProcedure.input(createConnectionInput).mutation(({ ctx, input }) => createConnection({ ctx, input })),
		update: platformAdminProcedure.input(updateConnectionInput).mutation(({ ctx, input }) => updateConnection({ ctx, input })),
		delete: platformAdminProcedure.input(connectionIdInput).mutation(({ ctx, input }) => deleteConnection({ ctx, input })),
		/** Checks the stored key upstream and reports the workspace. */
		test: platformAdminProcedure.input(connectionIdInput).mutation(({ ctx, input }) => testConnection({ ctx, input }))
	}),
	agents: router({
		list: platformAdminProcedure.input(listAgentsInput).query(({ ctx, input }) => listAgents({ ctx, input })),
		map: platformAdminProcedure.input(mapAgentInput).mutation(({ ctx, input }) => mapAgent({ ctx, input }))
	}),
	quarantine: router({
		list: platformAdminProcedure.input(listQuarantineInput).query(({ ctx, input }) => listQuarantine({ ctx, input })),
		conversations: platformAdminProcedure
			.input(listQuarantinedConversationsInput)
			.query(({ ctx, input }) => listQuarantinedConversations({ ctx, input })),
		release: platformAdminProcedure.input(releaseQuarantineInput).mutation(({ ctx, input }) => releaseQuarantine({ ctx, input }))
	})
});
