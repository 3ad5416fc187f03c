import { getCountries } from 'libphonenumber-js';
import { actionFailure, serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	try {
		const tenants = await serverCaller(event).tenants.list();
		return { tenants, countries: getCountries().slice().sort(), timezones: Intl.supportedValuesOf('timeZone') };
	} catch (err) {
		throwLoadFailure(err, event.url);
	}
};

const field = (form: FormData, name: string) => {
	const v = form.get(name);
	return v === null || v === '' ? undefined : String(v);
};

export const actions: Actions = {
	create: async (event) => {
		const form = await event.request.formData();
		const input = {
			name: field(form, 'name') ?? '',
			slug: field(form, 'slug') ?? '',
			timezone: field(form, 'timezone') ?? 'UTC',
			defaultCountry: field(form, 'defaultCountry') ?? 'US'
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
				tenantId: field(form, 'tenantId') ?? '',
				name: field(form, 'name'),
				timezone: field(form, 'timezone'),
				defaultCountry: field(form, 'defaultCountry')
			});
			return { message: `Saved ${t.name}` };
		} catch (err) {
			return actionFailure(err);
		}
	},
	suspend: async (event) => {
		const form = await event.request.formData();
		try {
			const t = await serverCaller(event).tenants.suspend({ tenantId: field(form, 'tenantId') ?? '' });
			return { message: `${t.name} is suspended` };
		} catch (err) {
			return actionFailure(err);
		}
	},
	reactivate: async (event) => {
		const form = await event.request.formData();
		try {
			const t = await serverCaller(event).tenants.reactivate({ tenantId: field(form, 'tenantId') ?? '' });
			return { message: `${t.name} is active again` };
		} catch (err) {
			return actionFailure(err);
		}
	}
};
