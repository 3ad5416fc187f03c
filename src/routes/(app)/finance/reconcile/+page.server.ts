import { isIsoMonth } from '$lib/days';
import { serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import { error } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';

// Reconciliation of one tenant's month against upstream (platform finance): every difference with its conversation.
export const load: PageServerLoad = async (event) => {
	const tenantId = event.url.searchParams.get('tenantId') ?? '';
	const period = event.url.searchParams.get('period') ?? '';
	if (!isIsoMonth(period)) error(400, 'Choose a month as YYYY-MM');
	try {
		return { report: await serverCaller(event).finance.platform.reconcile({ tenantId, period }) };
	} catch (err) {
		throwLoadFailure(err, event.url);
	}
};
