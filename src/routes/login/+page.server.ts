import { fail, redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/db/index';
import { signIn } from '$lib/server/services/accounts/index';
import type { Actions, PageServerLoad } from './$types';

/** Only same-site paths, so a crafted link cannot bounce a fresh sign-in to another site. */
function safeRedirect(to: string | null): string {
	return to && to.startsWith('/') && !to.startsWith('//') && !to.startsWith('/\\') ? to : '/';
}

export const load: PageServerLoad = ({ locals, url }) => {
	if (locals.user) redirect(303, safeRedirect(url.searchParams.get('redirectTo')));
	return { redirectTo: safeRedirect(url.searchParams.get('redirectTo')) };
};

export const actions: Actions = {
	default: async (event) => {
		const form = await event.request.formData();
		const email = String(form.get('email') ?? '');
		const password = String(form.get('password') ?? '');
		if (!email || !password) return fail(400, { email, message: 'Enter your email and password.' });
		const result = await signIn({ ctx: { db: getDb().db, requestIp: event.getClientAddress() }, input: { email, password } });
		if (!result.ok) {
			if (result.reason === 'throttled') {
				event.setHeaders({ 'retry-after': String(result.retryAfterSeconds) });
				return fail(429, { email, message: result.message });
			}
			return fail(400, { email, message: result.message });
		}
		event.cookies.set(result.cookie.name, result.cookie.value, result.cookie.attributes);
		redirect(303, safeRedirect(String(form.get('redirectTo') ?? '')));
	}
};
