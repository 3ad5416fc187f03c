import { optionalFormField, serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import { providerActionFailure } from '$lib/server/trpc/action-failure';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const caller = serverCaller(event);
	try {
		const [numbers, agents] = await Promise.all([caller.tenantNumbers.list(), caller.tenantAgents.list({})]);
		return { numbers, agents: agents.rows.map((a) => ({ connectionId: a.connectionId, agentId: a.agentId, name: a.name ?? a.agentId })) };
	} catch (err) {
		throwLoadFailure(err, event.url);
	}
};

export const actions: Actions = {
	claim: async (event) => {
		const form = await event.request.formData();
		try {
			const r = await serverCaller(event).tenantNumbers.claim({ numberId: optionalFormField(form, 'numberId') ?? '', agentId: optionalFormField(form, 'agentId') ?? null });
			return { message: r.advance.error ? `${r.number.e164} is yours; connecting the agent is being retried` : `${r.number.e164} is yours` };
		} catch (err) {
			return providerActionFailure(err);
		}
	},
	giveBack: async (event) => {
		const form = await event.request.formData();
		try {
			await serverCaller(event).tenantNumbers.giveBack({ numberId: optionalFormField(form, 'numberId') ?? '' });
			return { message: 'Number given back to the pool' };
		} catch (err) {
			return providerActionFailure(err);
		}
	}
};
