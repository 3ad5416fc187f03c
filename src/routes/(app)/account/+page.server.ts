import { fail, redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/db/index';
import { PASSWORD_MIN_LENGTH } from '$lib/server/auth/password';
import { changePassword } from '$lib/server/services/accounts/index';
import { userActor } from '$lib/server/services/context';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = () => ({ minLength: PASSWORD_MIN_LENGTH });

export const actions: Actions = {
	// A cookie-setting verb, so a form action rather than a tRPC procedure.
	changePassword: async (event) => {
		const { user, session } = event.locals;
		if (!user || !session) redirect(303, '/login');
		const form = await event.request.formData();
		const currentPassword = String(form.get('currentPassword') ?? '');
		const newPassword = String(form.get('newPassword') ?? '');
		if (newPassword !== String(form.get('confirm') ?? '')) return fail(400, { field: 'confirm', message: 'The two new passwords differ.' });
		const result = await changePassword({
			ctx: { db: getDb().db, actor: userActor(user), requestIp: event.getClientAddress(), activeTenantId: session.activeTenantId },
			input: { currentPassword, newPassword }
		});
		if (!result.ok) return fail(400, { field: result.field, message: result.message });
		event.cookies.set(result.cookie.name, result.cookie.value, result.cookie.attributes);
		return { message: 'Password changed. Every other session was signed out.' };
	}
};
