import { TENANT_ROLES } from '$lib/server/auth/permissions';
import { actionFailure, serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const { me } = await event.parent();
	const canManage = me.activeTenant?.capabilities.includes('members:manage') ?? false;
	const caller = serverCaller(event);
	try {
		const [members, invitations] = await Promise.all([caller.members.list(), canManage ? caller.members.listInvitations() : Promise.resolve([])]);
		return { members, invitations, canManage, roles: [...TENANT_ROLES] };
	} catch (err) {
		throwLoadFailure(err, event.url);
	}
};

const field = (form: FormData, name: string) => String(form.get(name) ?? '');

export const actions: Actions = {
	invite: async (event) => {
		const form = await event.request.formData();
		const input = { email: field(form, 'email'), role: field(form, 'role') as never };
		try {
			const r = await serverCaller(event).members.invite(input);
			return { invited: { email: input.email, url: new URL(r.path, event.url.origin).toString() }, message: `Invitation created for ${input.email}` };
		} catch (err) {
			return actionFailure(err, { action: 'invite', email: input.email });
		}
	},
	changeRole: async (event) => {
		const form = await event.request.formData();
		try {
			const m = await serverCaller(event).members.changeRole({ userId: field(form, 'userId'), role: field(form, 'role') as never });
			return { message: `${m.email} is now ${m.role.replace('_', ' ')}` };
		} catch (err) {
			return actionFailure(err);
		}
	},
	remove: async (event) => {
		const form = await event.request.formData();
		try {
			await serverCaller(event).members.remove({ userId: field(form, 'userId') });
			return { message: `${field(form, 'email')} was removed and signed out` };
		} catch (err) {
			return actionFailure(err);
		}
	},
	revokeInvitation: async (event) => {
		const form = await event.request.formData();
		try {
			await serverCaller(event).members.revokeInvitation({ invitationId: field(form, 'invitationId') });
			return { message: 'Invitation revoked' };
		} catch (err) {
			return actionFailure(err);
		}
	}
};
