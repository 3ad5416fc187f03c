import { z } from 'zod';
import {
	createTenant,
	getCurrentTenant,
	listTenants,
	reactivateTenant,
	suspendTenant,
	updateTenant,
	updateTenantSettings
} from '../../services/tenants/index';
import { isValidPhoneCountry, isValidTimezone, SLUG_PATTERN } from '../../services/tenants/validate';
import { platformAdminProcedure, router, tenantProcedure } from '../init';

const name = z.string().trim().min(2, 'Use at least 2 characters').max(80);
const timezone = z.string().trim().refine(isValidTimezone, 'Not a known IANA timezone');
const defaultCountry = z
	.string()
	.trim()
	.transform((s) => s.toUpperCase())
	.refine(isValidPhoneCountry, 'Not a country code phone numbers can be read for');

const createTenantInput = z.object({
	name,
	slug: z.string().trim().toLowerCase().regex(SLUG_PATTERN, 'Lowercase letters, digits and dashes (max 40)'),
	timezone,
	defaultCountry
});
const updateTenantInput = z.object({ tenantId: z.uuid(), name: name.optional(), timezone: timezone.optional(), defaultCountry: defaultCountry.optional() });
const tenantIdInput = z.object({ tenantId: z.uuid() });
const updateSettingsInput = z.object({ timezone: timezone.optional(), defaultCountry: defaultCountry.optional() });

export const tenantsRouter = router({
	// Platform administration: every tenant.
	list: platformAdminProcedure.query(({ ctx }) => listTenants({ ctx })),
	create: platformAdminProcedure.input(createTenantInput).mutation(({ ctx, input }) => createTenant({ ctx, input })),
	update: platformAdminProcedure.input(updateTenantInput).mutation(({ ctx, input }) => updateTenant({ ctx, input })),
	suspend: platformAdminProcedure.input(tenantIdInput).mutation(({ ctx, input }) => suspendTenant({ ctx, input })),
	reactivate: platformAdminProcedure.input(tenantIdInput).mutation(({ ctx, input }) => reactivateTenant({ ctx, input })),
	// The caller's own tenant.
	current: tenantProcedure('tenant:read').query(({ ctx }) => getCurrentTenant({ ctx })),
	updateSettings: tenantProcedure('settings:write')
		.input(updateSettingsInput)
		.mutation(({ ctx, input }) => updateTenantSettings({ ctx, input }))
});
