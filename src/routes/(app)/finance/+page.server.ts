import { isIsoMonth, monthOf, presetRange } from '$lib/days';
import { actionFailure, serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import type { Actions, PageServerLoad } from './$types';

// The finance page: the active tenant's month (finance, tenant admins) and, for platform finance, every tenant's
// month with the close and reopen actions. Which parts show is decided by the procedures' answers, not here.
export const load: PageServerLoad = async (event) => {
	const { me } = await event.parent();
	const tz = me.activeTenant?.timezone ?? 'UTC';
	const asked = event.url.searchParams.get('period');
	const period = asked && isIsoMonth(asked) ? asked : monthOf(presetRange('last-month', tz).from);
	const caller = serverCaller(event);
	const canTenant = me.activeTenant?.capabilities.includes('usage:read') ?? false;
	const platform = me.user.isPlatformAdmin;
	try {
		const [month, statements, overview, allStatements] = await Promise.all([
			canTenant ? caller.finance.month({ period }) : null,
			canTenant ? caller.finance.statements() : null,
			platform ? caller.finance.platform.overview({ period }) : null,
			platform ? caller.finance.platform.statements({}) : null
		]);
		return { period, month, statements, overview, allStatements, platform, canExport: me.activeTenant?.capabilities.includes('usage:export') ?? false };
	} catch (err) {
		throwLoadFailure(err, event.url);
	}
};

export const actions: Actions = {
	close: async (event) => {
		const form = await event.request.formData();
		const period = String(form.get('period') ?? '');
		const tenantId = form.get('tenantId') ? String(form.get('tenantId')) : undefined;
		try {
			const out = await serverCaller(event).finance.platform.closeMonth({ period, tenantId });
			const closed = out.filter((o) => o.outcome === 'closed').length;
			const notEnded = out.filter((o) => o.outcome === 'not-ended').length;
			return { message: `Closed ${period} for ${closed} tenant(s)${notEnded ? `; ${notEnded} not ended yet in their timezone` : ''}` };
		} catch (err) {
			return actionFailure(err);
		}
	},
	reopen: async (event) => {
		const form = await event.request.formData();
		try {
			const s = await serverCaller(event).finance.platform.reopen({ statementId: String(form.get('statementId') ?? ''), reason: String(form.get('reason') ?? '') });
			return { message: `Statement ${s.number} reopened` };
		} catch (err) {
			return actionFailure(err);
		}
	}
};
