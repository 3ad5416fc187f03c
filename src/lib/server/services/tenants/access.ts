import { and, eq } from 'drizzle-orm';
import type { EffectiveRole } from '../../auth/permissions';
import type { DbOrTx } from '../../db/client';
import { membership, tenant } from '../../db/schema/index';
import type { TenantRef } from '../context';

export type TenantAccess = { ok: true; tenant: TenantRef; role: EffectiveRole } | { ok: false; reason: 'no-tenant-selected' | 'not-found' };

/**
 * The tenant a request acts in and the caller's effective role there, in one query. Platform admins act in any
 * tenant as `platform_admin`; everyone else needs a membership. A tenant the caller cannot enter is `not-found`,
 * so a slug or id of someone else's tenant reveals nothing.
 */
export async function resolveTenantAccess(
	db: DbOrTx,
	args: { user: { id: string; isPlatformAdmin: boolean }; tenantId: string | null; tenantSlug: string | null }
): Promise<TenantAccess> {
	const by = args.tenantSlug ? eq(tenant.slug, args.tenantSlug) : args.tenantId ? eq(tenant.id, args.tenantId) : null;
	if (!by) return { ok: false, reason: 'no-tenant-selected' };
	const [row] = await db
		.select({
			id: tenant.id,
			name: tenant.name,
			slug: tenant.slug,
			timezone: tenant.timezone,
			defaultCountry: tenant.defaultCountry,
			status: tenant.status,
			role: membership.role
		})
		.from(tenant)
		.leftJoin(membership, and(eq(membership.tenantId, tenant.id), eq(membership.userId, args.user.id)))
		.where(by)
		.limit(1);
	if (!row) return { ok: false, reason: 'not-found' };
	const { role, ...t } = row;
	if (args.user.isPlatformAdmin) return { ok: true, tenant: t, role: 'platform_admin' };
	if (!role) return { ok: false, reason: 'not-found' };
	return { ok: true, tenant: t, role };
}
