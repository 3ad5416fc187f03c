import { TRPCError } from '@trpc/server';
import { addDays, isRangePreset, parseDayRange, presetRange, previousPeriod, RANGE_PRESETS, todayInZone, type DayRange, type RangePreset } from '$lib/days';
import { DEFAULT_RANGE_DAYS, MAX_RANGE_DAYS } from '$lib/server/services/calls/index';
import { serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import type { PageServerLoad } from './$types';

/** The dependency the page's Refresh button invalidates. */
const CALLS_DEPENDENCY = 'app:calls';
const PAGE_SIZE = 20;
const STATUSES = ['initiated', 'in-progress', 'processing', 'done', 'failed'] as const;
type Status = (typeof STATUSES)[number];
const isStatus = (v: string | null): v is Status => (STATUSES as readonly string[]).includes(v ?? '');

/** How a failed section is shown: the range was refused, the tenant is closed to this user, or something broke. */
type SectionFailure = { kind: 'range' | 'blocked' | 'broken'; message: string };

function sectionFailure(err: unknown, url: URL): SectionFailure {
	if (err instanceof TRPCError) {
		if (err.code === 'UNAUTHORIZED') throwLoadFailure(err, url);
		if (err.code === 'BAD_REQUEST') return { kind: 'range', message: err.message };
		if (err.code === 'FORBIDDEN' || err.code === 'NOT_FOUND') return { kind: 'blocked', message: err.message };
	}
	// The procedure already logged the cause; the page shows a generic message and a retry.
	return { kind: 'broken', message: 'The calls could not be loaded right now.' };
}

export const load: PageServerLoad = async (event) => {
	const { me } = await event.parent();
	if (!me.activeTenant) return { dashboard: null };
	event.depends(CALLS_DEPENDENCY);

	const q = event.url.searchParams;
	const timezone = me.activeTenant.timezone;
	const today = todayInZone(timezone);
	// A preset (`range=30d`) is resolved here, in the tenant's time zone, so a bookmark keeps meaning "the last 30
	// days". Malformed custom dates reach the procedures as given, so their message (not a silent default) explains.
	const presetParam = q.get('range');
	const preset: RangePreset | null = isRangePreset(presetParam) ? presetParam : null;
	const range = preset ? presetRange(preset, timezone) : { from: q.get('from') || undefined, to: q.get('to') || undefined };
	const search = q.get('q')?.trim().slice(0, 100) || undefined;
	const status = isStatus(q.get('status')) ? (q.get('status') as Status) : undefined;
	const page = Math.min(100_000, Math.max(1, Number.parseInt(q.get('page') ?? '1', 10) || 1));
	const base = {
		dependency: CALLS_DEPENDENCY,
		today,
		timezone,
		preset,
		query: { from: preset ? '' : (range.from ?? ''), to: preset ? '' : (range.to ?? ''), q: search ?? '', status: status ?? '' },
		statuses: STATUSES,
		loadedAt: new Date()
	};
	if (presetParam && !preset) {
		const refused: SectionFailure = { kind: 'range', message: `Unknown range "${presetParam}": choose one of ${RANGE_PRESETS.join(', ')}` };
		return { dashboard: { ...base, summary: null, summaryError: refused, previous: null, list: null, listError: refused } };
	}

	// The previous period of equal length, for the KPI cards' change; skipped when the range itself is refused.
	const fallback = (): DayRange => ({ from: addDays(today, -(DEFAULT_RANGE_DAYS - 1)), to: today });
	const asked = parseDayRange(range, fallback, { maxDays: MAX_RANGE_DAYS });
	const caller = serverCaller(event);
	const [summary, previous, list] = await Promise.allSettled([
		caller.calls.summary(range),
		asked.ok ? caller.calls.summary(previousPeriod(asked.range)) : Promise.resolve(null),
		caller.calls.list({ ...range, search, status, page, pageSize: PAGE_SIZE })
	]);
	return {
		dashboard: {
			...base,
			summary: summary.status === 'fulfilled' ? summary.value : null,
			summaryError: summary.status === 'rejected' ? sectionFailure(summary.reason, event.url) : null,
			// Without the previous period the cards simply show no change.
			previous: previous.status === 'fulfilled' ? previous.value : null,
			list: list.status === 'fulfilled' ? list.value : null,
			listError: list.status === 'rejected' ? sectionFailure(list.reason, event.url) : null
		}
	};
};
