import { getCountries } from 'libphonenumber-js';
import { actionFailure, serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	try {
		const tenant = await serverCaller(event).tenants.current();
		return { tenant, countries: getCountries().slice().sort(), timezones: Intl.supportedValuesOf('timeZone') };
	} catch (err) {
		throwLoadFailure(err, event.url);
	}
};

export const actions: Actions = {
	default: async (event) => {
		const form = await event.request.formData();
		try {
			const t = await serverCaller(event).tenants.updateSettings({
				timezone: String(form.get('timezone') ?? ''),
				defaultCountry: String(form.get('defaultCountry') ?? '')
			});
			return { message: `Saved: ${t.timezone}, ${t.defaultCountry}` };
		} catch (err) {
			return actionFailure(err);
		}
	}
};
