import { z } from 'zod';
import { listPlatformAudit, listTenantAudit } from '../../services/audit/index';
import { platformAdminProcedure, router, tenantProcedure } from '../init';

const auditFilters = {
	action: z.string().trim().max(80).optional(),
	actor: z.string().trim().max(254).optional(),
	targetId: z.string().trim().max(200).optional(),
	from: z.coerce.date().optional(),
	to: z.coerce.date().optional(),
	page: z.number().int().min(1).max(100_000).default(1),
	pageSize: z.number().int().min(1).max(200).default(50)
};
const listAuditInput = z.object(auditFilters).default({ page: 1, pageSize: 50 });
const listAllAuditInput = z.object({ ...auditFilters, tenantId: z.uuid().optional() }).default({ page: 1, pageSize: 50 });

export const auditRouter = router({
	list: tenantProcedure('audit:read')
		.input(listAuditInput)
		.query(({ ctx, input }) => listTenantAudit({ ctx, input })),
	listAll: platformAdminProcedure.input(listAllAuditInput).query(({ ctx, input }) => listPlatformAudit({ ctx, input }))
});
