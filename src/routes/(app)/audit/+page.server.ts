import { error } from '@sveltejs/kit';
import { addDays, isIsoDay, startOfDayInZone } from '$lib/days';
import { serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import type { PageServerLoad } from './$types';

const PAGE_SIZE = 50;

/**
 * The From/To days of the filter as instants: From's first instant and the first instant after To, both in the
 * tenant's time zone (src/lib/days.ts), so "the 9th" means the tenant's 9th. Either end may be open.
 */
function dayBounds(from: string | null, to: string | null, timezone: string): { from?: Date; to?: Date } {
	for (const [name, v] of [['From', from], ['To', to]] as const)
		if (v && !isIsoDay(v)) error(400, `${name} must be a calendar day (YYYY-MM-DD), not "${v}"`);
	if (from && to && to < from) error(400, `The range starts (${from}) after it ends (${to})`);
	return {
		from: from ? startOfDayInZone(from, timezone) : undefined,
		to: to ? startOfDayInZone(addDays(to, 1), timezone) : undefined
	};
}

export const load: PageServerLoad = async (event) => {
	const { me } = await event.parent();
	const q = event.url.searchParams;
	// Platform admins may look across every tenant; everyone else sees their active tenant's log.
	const scope = me.user.isPlatformAdmin && (q.get('scope') === 'all' || !me.activeTenant) ? 'all' : 'tenant';
	// Days are the tenant's: the one filtered on across tenants, else the active one (UTC with neither).
	const timezone = (scope === 'all' ? me.tenants.find((t) => t.id === q.get('tenantId')) : me.activeTenant)?.timezone ?? me.activeTenant?.timezone ?? 'UTC';
	const filters = {
		action: q.get('action') || undefined,
		actor: q.get('actor') || undefined,
		...dayBounds(q.get('from') || null, q.get('to') || null, timezone),
		page: Math.max(1, Number.parseInt(q.get('page') ?? '1', 10) || 1),
		pageSize: PAGE_SIZE
	};
	const caller = serverCaller(event);
	try {
		const result = scope === 'all' ? await caller.audit.listAll({ ...filters, tenantId: q.get('tenantId') || undefined }) : await caller.audit.list(filters);
		return {
			result,
			scope,
			timezone,
			filters: {
				action: q.get('action') ?? '',
				actor: q.get('actor') ?? '',
				from: q.get('from') ?? '',
				to: q.get('to') ?? '',
				tenantId: q.get('tenantId') ?? ''
			}
		};
	} catch (err) {
		throwLoadFailure(err, event.url);
	}
};
