import { csvResponse, minutesCsv } from '$lib/server/services/finance/csv';
import { serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import type { RequestHandler } from './$types';

// Every tenant's minutes for ?period=YYYY-MM (platform finance, checked by the procedure).
export const GET: RequestHandler = async (event) => {
	const period = event.url.searchParams.get('period') ?? '';
	try {
		const rows = await serverCaller(event).finance.platform.exportMinutes({ period });
		return csvResponse(minutesCsv(rows), `minutes-all-tenants-${period}.csv`);
	} catch (err) {
		throwLoadFailure(err, event.url);
	}
};
