import { redirect } from '@sveltejs/kit';
import { blankSessionCookie } from '$lib/server/auth/session';
import { getDb } from '$lib/server/db/index';
import { signOut } from '$lib/server/services/accounts/index';
import type { Actions, PageServerLoad } from './$types';

// Signing out is a POST (the nav's button), so a link or an image elsewhere cannot sign anyone out.
export const load: PageServerLoad = ({ locals }) => {
	if (!locals.user) redirect(303, '/login');
	return {};
};

export const actions: Actions = {
	default: async ({ locals, cookies }) => {
		if (locals.session) await signOut({ ctx: { db: getDb().db, sessionId: locals.session.id } });
		const blank = blankSessionCookie();
		cookies.set(blank.name, blank.value, blank.attributes);
		redirect(303, '/login');
	}
};
