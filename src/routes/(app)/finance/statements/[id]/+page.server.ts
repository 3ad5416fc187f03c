import { serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import type { PageServerLoad } from './$types';

// A statement as a printable page: the active tenant's (usage:read), or any tenant's for platform finance (?scope=platform).
export const load: PageServerLoad = async (event) => {
	const caller = serverCaller(event);
	const platform = event.url.searchParams.get('scope') === 'platform';
	try {
		const input = { statementId: event.params.id };
		const s = platform ? await caller.finance.platform.statement(input) : await caller.finance.statement(input);
		return { ...s, platform };
	} catch (err) {
		throwLoadFailure(err, event.url);
	}
};
