import { describe, expect, it } from 'vitest';
import { can, CAPABILITIES, capabilitiesOf, type Capability, type EffectiveRole } from '../../src/lib/server/auth/permissions';

// The capability table, spelled out: a change to permissions.ts must change this table (and the README matrix).
const EXPECTED: Record<Capability, EffectiveRole[]> = {
	'tenant:read': ['viewer', 'finance', 'marketer', 'tenant_admin', 'platform_admin'],
	'usage:read': ['finance', 'tenant_admin', 'platform_admin'],
	'usage:export': ['finance', 'tenant_admin', 'platform_admin'],
	'campaigns:write': ['marketer', 'tenant_admin', 'platform_admin'],
	'funnels:write': ['marketer', 'tenant_admin', 'platform_admin'],
	'attribution:write': ['marketer', 'tenant_admin', 'platform_admin'],
	'members:manage': ['tenant_admin', 'platform_admin'],
	'conversions:write': ['tenant_admin', 'platform_admin'],
	'settings:write': ['tenant_admin', 'platform_admin'],
	'audit:read': ['tenant_admin', 'platform_admin'],
	'connections:manage': ['platform_admin'],
	'agents:manage': ['platform_admin'],
	'numbers:manage': ['platform_admin']
};
const ROLES: EffectiveRole[] = ['viewer', 'finance', 'marketer', 'tenant_admin', 'platform_admin'];

describe('role → capabilities', () => {
	it('covers every capability', () => {
		expect(Object.keys(EXPECTED).sort()).toEqual([...CAPABILITIES].sort());
	});
	it.each(CAPABILITIES.flatMap((c) => ROLES.map((r) => [c, r] as const)))('%s for %s', (capability, role) => {
		expect(can(role, capability)).toBe(EXPECTED[capability].includes(role));
	});
	it('grants nothing without a role', () => {
		expect(can(null, 'tenant:read')).toBe(false);
		expect(capabilitiesOf(undefined)).toEqual([]);
	});
});
