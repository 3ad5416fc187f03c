import { and, count, desc, eq, gte, ilike, lt, like, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { auditLog, tenant } from '../../db/schema/index';
import { actorLabel, actorUserId, type ServiceCtx, type TenantServiceCtx } from '../context';

export interface AuditEntry {
	tenantId: string | null;
	action: string;
	targetType: string;
	targetId?: string | null;
	before?: Record<string, unknown> | null;
	after?: Record<string, unknown> | null;
}

/**
 * Writes the audit row for a change. Call it with the transaction that makes the change, so the row exists
 * exactly when the change does.
 */
export async function recordAudit(tx: DbOrTx, ctx: ServiceCtx, entry: AuditEntry): Promise<void> {
	await tx.insert(auditLog).values({
		// clock_timestamp, not now(): several changes in one transaction keep their order.
		at: sql`clock_timestamp()`,
		tenantId: entry.tenantId,
		actorUserId: actorUserId(ctx.actor),
		actorLabel: actorLabel(ctx.actor),
		action: entry.action,
		targetType: entry.targetType,
		targetId: entry.targetId ?? null,
		before: entry.before ?? null,
		after: entry.after ?? null,
		requestIp: ctx.requestIp ?? null
	});
}

export interface AuditFilters {
	/** Exact action (`member.invite`) or an area prefix ending in a dot (`member.`). */
	action?: string;
	/** Part of the actor's email or label. */
	actor?: string;
	targetId?: string;
	from?: Date;
	to?: Date;
	page: number;
	pageSize: number;
}

export interface AuditRow {
	id: string;
	at: Date;
	tenantId: string | null;
	tenantSlug: string | null;
	actorUserId: string | null;
	actorLabel: string;
	action: string;
	targetType: string;
	targetId: string | null;
	before: Record<string, unknown> | null;
	after: Record<string, unknown> | null;
}

function escapeLike(s: string) {
	return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

async function queryAudit(db: DbOrTx, scope: SQL | undefined, f: AuditFilters) {
	const where = and(
		scope,
		f.action ? (f.action.endsWith('.') ? like(auditLog.action, `${escapeLike(f.action)}%`) : eq(auditLog.action, f.action)) : undefined,
		f.actor ? ilike(auditLog.actorLabel, `%${escapeLike(f.actor)}%`) : undefined,
		f.targetId ? eq(auditLog.targetId, f.targetId) : undefined,
		f.from ? gte(auditLog.at, f.from) : undefined,
		f.to ? lt(auditLog.at, f.to) : undefined
	);
	const [rows, [{ total }]] = await Promise.all([
		db
			.select({
				id: auditLog.id,
				at: auditLog.at,
				tenantId: auditLog.tenantId,
				tenantSlug: tenant.slug,
				actorUserId: auditLog.actorUserId,
				actorLabel: auditLog.actorLabel,
				action: auditLog.action,
				targetType: auditLog.targetType,
				targetId: auditLog.targetId,
				before: auditLog.before,
				after: auditLog.after
			})
			.from(auditLog)
			.leftJoin(tenant, eq(tenant.id, auditLog.tenantId))
			.where(where)
			.orderBy(desc(auditLog.at), desc(auditLog.id))
			.limit(f.pageSize)
			.offset((f.page - 1) * f.pageSize),
		db.select({ total: count() }).from(auditLog).where(where)
	]);
	return { rows: rows as AuditRow[], total, page: f.page, pageSize: f.pageSize };
}

/** The audit log of the caller's tenant. */
export function listTenantAudit({ ctx, input }: { ctx: TenantServiceCtx; input: AuditFilters }) {
	return queryAudit(ctx.db, eq(auditLog.tenantId, ctx.tenant.id), input);
}

/** Every tenant's audit log (platform admins), optionally narrowed to one tenant. */
export function listPlatformAudit({ ctx, input }: { ctx: ServiceCtx; input: AuditFilters & { tenantId?: string } }) {
	return queryAudit(ctx.db, input.tenantId ? eq(auditLog.tenantId, input.tenantId) : undefined, input);
}
