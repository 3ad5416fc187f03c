import { serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import type { PageServerLoad } from './$types';

const PAGE_SIZE = 50;

function dateParam(v: string | null, endOfDay = false): Date | undefined {
	if (!v || !/^\d{4}-\d{2}-\d{2}$/.test(v)) return undefined;
	const d = new Date(`${v}T00:00:00Z`);
	if (endOfDay) d.setUTCDate(d.getUTCDate() + 1);
	return Number.isNaN(d.getTime()) ? undefined : d;
}

export const load: PageServerLoad = async (event) => {
	const { me } = await event.parent();
	const q = event.url.searchParams;
	const filters = {
		action: q.get('action') || undefined,
		actor: q.get('actor') || undefined,
		from: dateParam(q.get('from')),
		to: dateParam(q.get('to'), true),
		page: Math.max(1, Number.parseInt(q.get('page') ?? '1', 10) || 1),
		pageSize: PAGE_SIZE
	};
	// Platform admins may look across every tenant; everyone else sees their active tenant's log.
	const scope = me.user.isPlatformAdmin && (q.get('scope') === 'all' || !me.activeTenant) ? 'all' : 'tenant';
	const caller = serverCaller(event);
	try {
		const result = scope === 'all' ? await caller.audit.listAll({ ...filters, tenantId: q.get('tenantId') || undefined }) : await caller.audit.list(filters);
		return {
			result,
			scope,
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
