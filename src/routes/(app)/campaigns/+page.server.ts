import { redirect } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { CAMPAIGN_CHANNELS, CAMPAIGN_STATUSES, type CampaignStatus } from '$lib/server/db/schema/index';
import { actionFailure, serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import type { Actions, PageServerLoad } from './$types';

const PAGE_SIZE = 20;
const isStatus = (v: string | null): v is CampaignStatus => (CAMPAIGN_STATUSES as readonly string[]).includes(v ?? '');

export const load: PageServerLoad = async (event) => {
	const { me } = await event.parent();
	const q = event.url.searchParams;
	const search = q.get('q')?.trim().slice(0, 100) || undefined;
	const status = isStatus(q.get('status')) ? (q.get('status') as CampaignStatus) : undefined;
	const page = Math.min(100_000, Math.max(1, Number.parseInt(q.get('page') ?? '1', 10) || 1));
	const base = {
		canWrite: me.activeTenant?.capabilities.includes('campaigns:write') ?? false,
		query: { q: search ?? '', status: status ?? '' },
		statuses: [...CAMPAIGN_STATUSES],
		channels: [...CAMPAIGN_CHANNELS]
	};
	try {
		return { ...base, list: await serverCaller(event).campaigns.list({ search, status, page, pageSize: PAGE_SIZE }), listError: null };
	} catch (err) {
		if (err instanceof TRPCError && (err.code === 'UNAUTHORIZED' || err.code === 'FORBIDDEN' || err.code === 'NOT_FOUND')) throwLoadFailure(err, event.url);
		// The procedure logged the cause; the page offers a retry.
		return { ...base, list: null, listError: 'The campaigns could not be loaded right now.' };
	}
};

export const actions: Actions = {
	create: async (event) => {
		const form = await event.request.formData();
		const input = { name: String(form.get('name') ?? ''), channel: String(form.get('channel') ?? '') as never };
		let id: string;
		try {
			id = (await serverCaller(event).campaigns.create(input)).id;
		} catch (err) {
			return actionFailure(err, { name: input.name });
		}
		redirect(303, `/campaigns/${id}`);
	}
};
