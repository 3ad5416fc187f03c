import { TRPCError } from '@trpc/server';
import { CAMPAIGN_CHANNELS, CAMPAIGN_STATUSES, RECIPIENT_FIELDS } from '$lib/server/db/schema/index';
import { actionFailure, optionalFormField, serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import type { Actions, PageServerLoad } from './$types';

/** Invalidated by the page while an import runs, to show its progress. */
const CAMPAIGN_DEPENDENCY = 'app:campaign';
const PAGE_SIZE = 50;

export const load: PageServerLoad = async (event) => {
	const { me } = await event.parent();
	event.depends(CAMPAIGN_DEPENDENCY);
	const caller = serverCaller(event);
	const campaignId = event.params.campaignId;
	const q = event.url.searchParams;
	const search = q.get('q')?.trim().slice(0, 100) || undefined;
	const page = Math.min(100_000, Math.max(1, Number.parseInt(q.get('page') ?? '1', 10) || 1));
	let campaign;
	try {
		campaign = await caller.campaigns.get({ campaignId });
	} catch (err) {
		throwLoadFailure(err, event.url);
	}
	// The funnel's range: local days from the URL (a malformed one reaches the procedure, whose message explains it).
	const range = { from: q.get('from') || undefined, to: q.get('to') || undefined };
	const [recipients, funnel, ...mapping] = await Promise.allSettled([
		caller.campaigns.recipients({ campaignId, search, page, pageSize: PAGE_SIZE }),
		caller.campaigns.funnel({ campaignId, ...range }),
		...campaign.drops.filter((d) => d.status === 'awaiting_mapping').map((d) => caller.campaigns.drops.get({ dropId: d.id }))
	]);
	if (recipients.status === 'rejected' && recipients.reason instanceof TRPCError && recipients.reason.code === 'UNAUTHORIZED') throwLoadFailure(recipients.reason, event.url);
	return {
		dependency: CAMPAIGN_DEPENDENCY,
		campaign,
		canWrite: me.activeTenant?.capabilities.includes('campaigns:write') ?? false,
		timezone: me.activeTenant?.timezone ?? 'UTC',
		channels: [...CAMPAIGN_CHANNELS],
		statuses: [...CAMPAIGN_STATUSES],
		fields: [...RECIPIENT_FIELDS],
		query: { q: search ?? '' },
		recipients: recipients.status === 'fulfilled' ? recipients.value : null,
		recipientsError: recipients.status === 'rejected' ? 'The recipients could not be loaded right now.' : null,
		funnel: funnel.status === 'fulfilled' ? funnel.value : null,
		funnelError:
			funnel.status === 'fulfilled'
				? null
				: funnel.reason instanceof TRPCError && funnel.reason.code === 'BAD_REQUEST'
					? funnel.reason.message
					: 'The funnel could not be loaded right now.',
		origin: event.url.origin,
		awaitingMapping: mapping.flatMap((m) => (m.status === 'fulfilled' ? [m.value] : []))
	};
};

const text = (form: FormData, name: string) => String(form.get(name) ?? '');

export const actions: Actions = {
	update: async (event) => {
		const form = await event.request.formData();
		const window = Number.parseInt(text(form, 'attributionWindowDays'), 10);
		try {
			await serverCaller(event).campaigns.update({
				campaignId: event.params.campaignId,
				name: text(form, 'name'),
				channel: text(form, 'channel') as never,
				status: text(form, 'status') as never,
				startDate: optionalFormField(form, 'startDate') ?? null,
				endDate: optionalFormField(form, 'endDate') ?? null,
				landingUrl: text(form, 'landingUrl'),
				utmSource: text(form, 'utmSource'),
				utmMedium: text(form, 'utmMedium'),
				utmCampaign: text(form, 'utmCampaign'),
				attributionWindowDays: Number.isFinite(window) ? window : 60,
				notes: text(form, 'notes'),
				trackingNumbers: text(form, 'trackingNumbers')
					.split(/[\n,;]+/)
					.map((s) => s.trim())
					.filter(Boolean)
			});
			return { message: 'Campaign saved' };
		} catch (err) {
			return actionFailure(err, { action: 'update' });
		}
	},
	startImport: async (event) => {
		const form = await event.request.formData();
		const mapping: Record<string, number> = {};
		for (const f of ['phone', 'firstName', 'lastName', 'email', 'address', 'postcode', 'customerId']) {
			const v = optionalFormField(form, `map_${f}`);
			if (v !== undefined) mapping[f] = Number.parseInt(v, 10);
		}
		try {
			await serverCaller(event).campaigns.drops.startImport({ dropId: text(form, 'dropId'), mapping, sentOn: optionalFormField(form, 'sentOn') });
			return { message: 'Import started' };
		} catch (err) {
			return actionFailure(err, { action: 'startImport' });
		}
	},
	cancelImport: async (event) => {
		const form = await event.request.formData();
		try {
			await serverCaller(event).campaigns.drops.cancelImport({ dropId: text(form, 'dropId') });
			return { message: 'Import cancelled' };
		} catch (err) {
			return actionFailure(err, { action: 'cancelImport' });
		}
	}
};
