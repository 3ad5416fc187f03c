// Who may do what inside a tenant. One place: the tRPC ladder, services and pages all ask `can(role, capability)`.
// The README role matrix is the contract; tests/integration/access-matrix.test.ts holds this file to it.

import type { EffectiveRole } from '../db/schema/roles';

// Role names live beside the schema that stores them; re-exported so callers ask one module about roles.
export { TENANT_ROLES, isTenantRole, type EffectiveRole, type TenantRole } from '../db/schema/roles';

export const CAPABILITIES = [
	// Everyone in the tenant: dashboards, calls, campaigns, members list (read-only).
	'tenant:read',
	// Finance: usage figures and exports.
	'usage:read',
	'usage:export',
	// Marketers: campaigns, funnels, manual attribution.
	'campaigns:write',
	'funnels:write',
	'attribution:write',
	// Tenant admins: people, conversion rules, settings, the audit log.
	'members:manage',
	'conversions:write',
	'settings:write',
	'audit:read',
	// Platform admins only, even inside a tenant: upstream connections, agents, phone numbers.
	'connections:manage',
	'agents:manage',
	'numbers:manage'
] as const;
export type Capability = (typeof CAPABILITIES)[number];

const viewer: readonly Capability[] = ['tenant:read'];
const finance: readonly Capability[] = [...viewer, 'usage:read', 'usage:export'];
const marketer: readonly Capability[] = [...viewer, 'campaigns:write', 'funnels:write', 'attribution:write'];
const tenantAdmin: readonly Capability[] = [
	...new Set<Capability>([...finance, ...marketer, 'members:manage', 'conversions:write', 'settings:write', 'audit:read'])
];

export const ROLE_CAPABILITIES: Record<EffectiveRole, ReadonlySet<Capability>> = {
	viewer: new Set(viewer),
	finance: new Set(finance),
	marketer: new Set(marketer),
	tenant_admin: new Set(tenantAdmin),
	platform_admin: new Set(CAPABILITIES)
};

export function can(role: EffectiveRole | null | undefined, capability: Capability): boolean {
	return role != null && ROLE_CAPABILITIES[role].has(capability);
}

export function capabilitiesOf(role: EffectiveRole | null | undefined): Capability[] {
	return role == null ? [] : [...ROLE_CAPABILITIES[role]];
}

export const ROLE_LABELS: Record<EffectiveRole, string> = {
	viewer: 'Viewer',
	finance: 'Finance',
	marketer: 'Marketer',
	tenant_admin: 'Tenant admin',
	platform_admin: 'Platform admin'
};
