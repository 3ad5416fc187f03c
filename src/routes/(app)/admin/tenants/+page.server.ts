import { getCountries } from 'libphonenumber-js';
import { actionFailure, serverCaller, throwLoadFailure, optionalFormField } from '$lib/server/trpc/caller';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	try {
		const tenants = await serverCaller(event).tenants.list();
		return { tenants, countries: getCountries().slice().sort(), timezones: Intl.supportedValuesOf('timeZone') };
	} catch (err) {
		throwLoadFailure(err, event.url);
	}
};


export const actions: Actions = {
	create: async (event) => {
		const form = await event.request.formData();
		const input = {
			name: optionalFormField(form, 'name') ?? '',
			slug: optionalFormField(form, 'slug') ?? '',
			timezone: optionalFormField(form, 'timezone') ?? 'UTC',
			defaultCountry: optionalFormField(form, 'defaultCountry') ?? 'US'
		};
		try {
			const t = await serverCaller(event).tenants.create(input);
			return { message: `Created ${t.name}` };
		} catch (err) {
			return actionFailure(err, { action: 'create', values: input });
		}
	},
	update: async (event) => {
		const form = await event.request.formData();
		try {
			const t = await serverCaller(event).tenants.update({
				tenantId: optionalFormField(form, 'tenantId') ?? '',
				name: optionalFormField(form, 'name'),
				timezone: optionalFormField(form, 'timezone'),
				defaultCountry: optionalFormField(form, 'defaultCountry')
			});
			return { message: `Saved ${t.name}` };
		} catch (err) {
			return actionFailure(err);
		}
	},
	suspend: async (event) => {
		const form = await event.request.formData();
		try {
			const t = await serverCaller(event).tenants.suspend({ tenantId: optionalFormField(form, 'tenantId') ?? '' });
			return { message: `${t.name} is suspended` };
		} catch (err) {
			return actionFailure(err);
		}
	},
	reactivate: async (event) => {
		const form = await event.request.formData();
		try {
			const t = await serverCaller(event).tenants.reactivate({ tenantId: optionalFormField(form, 'tenantId') ?? '' });
			return { message: `${t.name} is active again` };
		} catch (err) {
			return actionFailure(err);
		}
	}
};
