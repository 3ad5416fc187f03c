import { redirect } from '@sveltejs/kit';
import { actionFailure, serverCaller } from '$lib/server/trpc/caller';
import type { Actions, PageServerLoad } from './$types';

// The tenant switcher in the app layout posts here.
export const load: PageServerLoad = () => redirect(303, '/');

export const actions: Actions = {
	default: async (event) => {
		const form = await event.request.formData();
		try {
			await serverCaller(event).auth.switchTenant({ tenantId: String(form.get('tenantId') ?? '') });
		} catch (err) {
			return actionFailure(err);
		}
		const to = String(form.get('redirectTo') ?? '/');
		redirect(303, to.startsWith('/') && !to.startsWith('//') ? to : '/');
	}
};
