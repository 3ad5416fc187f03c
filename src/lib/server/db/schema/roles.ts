// The roles a member can hold inside a tenant, stored in `tenant_membership.role` and `invitation.role`.
// What each role may do is auth/permissions.ts; the names live here, beside the tables that store them.

export const TENANT_ROLES = ['viewer', 'finance', 'marketer', 'tenant_admin'] as const;
export type TenantRole = (typeof TENANT_ROLES)[number];

/** A platform admin acts in any tenant with every capability, including the platform-only ones. */
export type EffectiveRole = TenantRole | 'platform_admin';

export function isTenantRole(v: unknown): v is TenantRole {
	return typeof v === 'string' && (TENANT_ROLES as readonly string[]).includes(v);
}
