import { fail, redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/db/index';
import { ROLE_LABELS } from '$lib/server/auth/permissions';
import { PASSWORD_MIN_LENGTH } from '$lib/server/auth/password';
import { acceptInvitation, previewInvitation } from '$lib/server/services/invitations/index';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ params, setHeaders }) => {
	// The token is in the URL: keep it out of caches. (The site-wide Referrer-Policy same-origin keeps it out of
	// Referer headers to other sites; no-referrer would make Chromium send `Origin: null` on later form posts.)
	setHeaders({ 'cache-control': 'no-store' });
	const preview = await previewInvitation({ db: getDb().db, token: params.token });
	if (!preview) return { invitation: null, minLength: PASSWORD_MIN_LENGTH };
	return {
		invitation: { ...preview, roleLabel: ROLE_LABELS[preview.role] },
		minLength: PASSWORD_MIN_LENGTH
	};
};

export const actions: Actions = {
	default: async (event) => {
		const form = await event.request.formData();
		const password = String(form.get('password') ?? '');
		const confirm = form.get('confirm');
		if (confirm !== null && confirm !== password) return fail(400, { message: 'The two passwords differ.' });
		const result = await acceptInvitation({
			ctx: { db: getDb().db, requestIp: event.getClientAddress() },
			input: { token: event.params.token, password }
		});
		if (!result.ok) return fail(400, { message: result.message });
		event.cookies.set(result.cookie.name, result.cookie.value, result.cookie.attributes);
		redirect(303, '/');
	}
};
