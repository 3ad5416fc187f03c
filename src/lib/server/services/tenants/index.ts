import { asc, count, eq, sql } from 'drizzle-orm';
import { inTransaction } from '../../db/client';
import { membership, tenant } from '../../db/schema/index';
import { DomainError } from '../../errors';
import { recordAudit } from '../audit/index';
import type { ServiceCtx, TenantRef, TenantServiceCtx } from '../context';

export { resolveTenantAccess } from './access';

export interface TenantSummary extends TenantRef {
	createdAt: Date;
	suspendedAt: Date | null;
	memberCount: number;
}

const tenantColumns = {
	id: tenant.id,
	name: tenant.name,
	slug: tenant.slug,
	timezone: tenant.timezone,
	defaultCountry: tenant.defaultCountry,
	status: tenant.status
};

function ref(row: typeof tenant.$inferSelect): TenantRef {
	return { id: row.id, name: row.name, slug: row.slug, timezone: row.timezone, defaultCountry: row.defaultCountry, status: row.status };
}

/** Every tenant with its member count (platform admins). */
export async function listTenants({ ctx }: { ctx: ServiceCtx }): Promise<TenantSummary[]> {
	return ctx.db
		.select({ ...tenantColumns, createdAt: tenant.createdAt, suspendedAt: tenant.suspendedAt, memberCount: count(membership.userId) })
		.from(tenant)
		.leftJoin(membership, eq(membership.tenantId, tenant.id))
		.groupBy(tenant.id)
		.orderBy(asc(tenant.name));
}

export interface CreateTenantInput {
	name: string;
	slug: string;
	timezone: string;
	defaultCountry: string;
}

export async function createTenant({ ctx, input }: { ctx: ServiceCtx; input: CreateTenantInput }): Promise<TenantRef> {
	return inTransaction(ctx.db, async (tx) => {
		const [row] = await tx.insert(tenant).values(input).onConflictDoNothing({ target: tenant.slug }).returning();
		if (!row) throw new DomainError('CONFLICT', `The slug "${input.slug}" is taken`);
		await recordAudit(tx, ctx, { tenantId: row.id, action: 'tenant.create', targetType: 'tenant', targetId: row.id, after: ref(row) as never });
		return ref(row);
	});
}

async function lockTenant(tx: ServiceCtx['db'], tenantId: string) {
	const [row] = await tx.select().from(tenant).where(eq(tenant.id, tenantId)).for('update');
	if (!row) throw new DomainError('NOT_FOUND', 'Tenant not found');
	return row;
}

type TenantPatch = Partial<Pick<typeof tenant.$inferInsert, 'name' | 'timezone' | 'defaultCountry' | 'status' | 'suspendedAt'>>;

/** Applies a patch and audits exactly the fields that changed; a no-op writes nothing. */
async function patchTenant(ctx: ServiceCtx, tenantId: string, patch: TenantPatch, action: string): Promise<TenantRef> {
	return inTransaction(ctx.db, async (tx) => {
		const current = await lockTenant(tx, tenantId);
		const before: Record<string, unknown> = {};
		const after: Record<string, unknown> = {};
		for (const [k, v] of Object.entries(patch) as [keyof TenantPatch, unknown][]) {
			if (v === undefined) continue;
			const old = current[k];
			const same = old instanceof Date && v instanceof Date ? old.getTime() === v.getTime() : old === v;
			if (!same) {
				before[k] = old;
				after[k] = v;
			}
		}
		if (Object.keys(after).length === 0) return ref(current);
		const [row] = await tx
			.update(tenant)
			.set({ ...after, updatedAt: sql`now()` })
			.where(eq(tenant.id, tenantId))
			.returning();
		await recordAudit(tx, ctx, { tenantId, action, targetType: 'tenant', targetId: tenantId, before, after });
		return ref(row);
	});
}

export interface UpdateTenantInput {
	tenantId: string;
	name?: string;
	timezone?: string;
	defaultCountry?: string;
}

/** Rename, set timezone or default country of any tenant (platform admins). */
export function updateTenant({ ctx, input }: { ctx: ServiceCtx; input: UpdateTenantInput }): Promise<TenantRef> {
	const { tenantId, ...patch } = input;
	return patchTenant(ctx, tenantId, patch, 'tenant.update');
}

/** Members lose access at once; ingestion keeps storing the tenant's calls (nothing is lost). */
export function suspendTenant({ ctx, input }: { ctx: ServiceCtx; input: { tenantId: string } }): Promise<TenantRef> {
	return patchTenant(ctx, input.tenantId, { status: 'suspended', suspendedAt: new Date() }, 'tenant.suspend');
}

export function reactivateTenant({ ctx, input }: { ctx: ServiceCtx; input: { tenantId: string } }): Promise<TenantRef> {
	return patchTenant(ctx, input.tenantId, { status: 'active', suspendedAt: null }, 'tenant.reactivate');
}

/** The caller's tenant as the ladder resolved it. */
export function getCurrentTenant({ ctx }: { ctx: TenantServiceCtx }): TenantRef {
	return ctx.tenant;
}

/** Tenant admins adjust their own tenant's timezone and default country. */
export function updateTenantSettings({
	ctx,
	input
}: {
	ctx: TenantServiceCtx;
	input: { timezone?: string; defaultCountry?: string };
}): Promise<TenantRef> {
	return patchTenant(ctx, ctx.tenant.id, input, 'tenant.settings_update');
}
