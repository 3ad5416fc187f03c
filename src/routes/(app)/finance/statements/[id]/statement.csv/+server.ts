import { csvResponse, statementCsv } from '$lib/server/services/finance/csv';
import { serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import type { RequestHandler } from './$types';

// One statement as CSV: the active tenant's (usage:read), or any tenant's for platform finance (?scope=platform).
export const GET: RequestHandler = async (event) => {
	const caller = serverCaller(event);
	try {
		const input = { statementId: event.params.id };
		const s = event.url.searchParams.get('scope') === 'platform' ? await caller.finance.platform.statement(input) : await caller.finance.statement(input);
		return csvResponse(statementCsv(s.statement, s.lines), `statement-${s.statement.number}-${s.statement.period}.csv`);
	} catch (err) {
		throwLoadFailure(err, event.url);
	}
};
