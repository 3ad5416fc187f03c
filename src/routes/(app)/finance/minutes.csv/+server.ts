import { csvResponse, minutesCsv } from '$lib/server/services/finance/csv';
import { serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import type { RequestHandler } from './$types';

// The active tenant's minutes CSV for months ?from=YYYY-MM&to=YYYY-MM (usage:export, checked by the procedure).
export const GET: RequestHandler = async (event) => {
	const from = event.url.searchParams.get('from') ?? '';
	const to = event.url.searchParams.get('to') ?? from;
	try {
		const rows = await serverCaller(event).finance.exportMinutes({ from, to });
		return csvResponse(minutesCsv(rows), `minutes-${rows[0]?.tenant ?? 'tenant'}-${from}${to !== from ? `-${to}` : ''}.csv`);
	} catch (err) {
		throwLoadFailure(err, event.url);
	}
};
