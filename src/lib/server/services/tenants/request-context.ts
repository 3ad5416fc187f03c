import { can, type Capability } from '../../auth/permissions';
import type { DbOrTx } from '../../db/client';
import { DomainError } from '../../errors';
import { userActor, type TenantServiceCtx } from '../context';
import { resolveTenantAccess } from './access';

/**
 * The tenant context for a plain HTTP endpoint (file upload, CSV download), decided exactly as the tRPC tenant rung
 * decides it: signed in, a tenant the user may enter (not suspended unless platform admin), and `capability`.
 */
export async function tenantContextForRequest(
	db: DbOrTx,
	args: { user: { id: string; email: string; isPlatformAdmin: boolean } | null; activeTenantId: string | null; requestIp: string | null },
	capability: Capability
): Promise<TenantServiceCtx> {
	if (!args.user) throw new DomainError('UNAUTHENTICATED', 'Sign in first');
	const access = await resolveTenantAccess(db, { user: args.user, tenantId: args.activeTenantId, tenantSlug: null });
	if (!access.ok) {
		if (access.reason === 'no-tenant-selected') throw new DomainError('FORBIDDEN', 'Choose a tenant first');
		throw new DomainError('NOT_FOUND', 'Tenant not found');
	}
	if (access.tenant.status === 'suspended' && access.role !== 'platform_admin') throw new DomainError('FORBIDDEN', 'This tenant is suspended');
	if (!can(access.role, capability)) throw new DomainError('FORBIDDEN', 'Your role does not allow this');
	return { db, actor: userActor(args.user), tenant: access.tenant, role: access.role, requestIp: args.requestIp };
}
