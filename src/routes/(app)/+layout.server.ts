import { redirect } from '@sveltejs/kit';
import { serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import { ROLE_LABELS } from '$lib/server/auth/permissions';
import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = async (event) => {
	if (!event.locals.user) redirect(303, `/login?redirectTo=${encodeURIComponent(event.url.pathname + event.url.search)}`);
	try {
		const me = await serverCaller(event).auth.me();
		return { me, roleLabels: ROLE_LABELS };
	} catch (err) {
		throwLoadFailure(err, event.url);
	}
};
