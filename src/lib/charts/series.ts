import type { ChartData, ChartOptions } from 'chart.js';

// Pure builders for the dashboard's series: calendar days in a tenant's timezone, zero-filled day series, and the
// chart.js data/options of the calls-per-day chart. Client-safe; the calls service uses the day helpers too.

/** A calendar date, `YYYY-MM-DD`, meaning a local day in some timezone (never an instant). */
export type IsoDay = string;

const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** Midnight UTC of the date, as epoch ms: calendar arithmetic on dates is timezone-free this way. */
function dayToUtcMs(day: IsoDay): number | null {
	const m = ISO_DAY.exec(day);
	if (!m) return null;
	const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
	const ms = Date.UTC(y, mo - 1, d);
	const back = new Date(ms);
	// Rejects 2025-02-30 and friends, which Date.UTC would roll over into March.
	if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
	return ms;
}

function utcMsToDay(ms: number): IsoDay {
	return new Date(ms).toISOString().slice(0, 10);
}

function mustDay(day: IsoDay): number {
	const ms = dayToUtcMs(day);
	if (ms === null) throw new RangeError(`not a calendar date (YYYY-MM-DD): ${JSON.stringify(day)}`);
	return ms;
}

export function isIsoDay(v: unknown): v is IsoDay {
	return typeof v === 'string' && dayToUtcMs(v) !== null;
}

export function addDays(day: IsoDay, n: number): IsoDay {
	return utcMsToDay(mustDay(day) + n * DAY_MS);
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: IsoDay, to: IsoDay): number {
	return Math.round((mustDay(to) - mustDay(from)) / DAY_MS);
}

/** Every day from `from` to `to`, both included; empty when `to` is before `from`. */
export function enumerateDays(from: IsoDay, to: IsoDay): IsoDay[] {
	const out: IsoDay[] = [];
	for (let ms = mustDay(from), end = mustDay(to); ms <= end; ms += DAY_MS) out.push(utcMsToDay(ms));
	return out;
}

const partsFormatters = new Map<string, Intl.DateTimeFormat>();
function partsFormatter(timeZone: string): Intl.DateTimeFormat {
	let f = partsFormatters.get(timeZone);
	if (!f) {
		f = new Intl.DateTimeFormat('en-US', {
			timeZone,
			hourCycle: 'h23',
			year: 'numeric',
			month: '2-digit',
			day: '2-digit',
			hour: '2-digit',
			minute: '2-digit',
			second: '2-digit'
		});
		partsFormatters.set(timeZone, f);
	}
	return f;
}

/** The wall clock of `instant` in `timeZone`. Throws a RangeError for an unknown zone. */
export function wallClockInZone(instant: Date, timeZone: string) {
	const p: Record<string, number> = {};
	for (const part of partsFormatter(timeZone).formatToParts(instant)) if (part.type !== 'literal') p[part.type] = Number(part.value);
	return { year: p.year, month: p.month, day: p.day, hour: p.hour % 24, minute: p.minute, second: p.second };
}

function localDayOf(instantMs: number, timeZone: string): IsoDay {
	const w = wallClockInZone(new Date(instantMs), timeZone);
	return `${String(w.year).padStart(4, '0')}-${String(w.month).padStart(2, '0')}-${String(w.day).padStart(2, '0')}`;
}

/** UTC offset of `timeZone` at an instant, in ms (local = utc + offset). */
function offsetMs(instantMs: number, timeZone: string): number {
	const w = wallClockInZone(new Date(instantMs), timeZone);
	const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
	return asUtc - Math.floor(instantMs / 1000) * 1000;
}

/** Today's date in `timeZone`. */
export function todayInZone(timeZone: string, now: Date = new Date()): IsoDay {
	return localDayOf(now.getTime(), timeZone);
}

/**
 * The first instant of a local day: usually local midnight; where a DST change skips midnight (as Santiago's
 * and, historically, São Paulo's did) the day starts at the jump.
 */
export function startOfDayInZone(day: IsoDay, timeZone: string): Date {
	const local = mustDay(day);
	// The offsets in force a day either side cover any single transition near this midnight.
	const candidates = [...new Set([offsetMs(local - DAY_MS, timeZone), offsetMs(local + DAY_MS, timeZone)])]
		.map((off) => local - off)
		.filter((c) => localDayOf(c, timeZone) === day)
		.sort((a, b) => a - b);
	const exact = candidates.find((c) => {
		const w = wallClockInZone(new Date(c), timeZone);
		return w.hour === 0 && w.minute === 0 && w.second === 0;
	});
	const start = exact ?? candidates[0];
	if (start === undefined) throw new RangeError(`cannot place the start of ${day} in ${timeZone}`);
	return new Date(start);
}

/** The instants `[start, end)` that cover local days `from`..`to` (both included) in `timeZone`. */
export function dayRangeToInstants(from: IsoDay, to: IsoDay, timeZone: string): { start: Date; end: Date } {
	return { start: startOfDayInZone(from, timeZone), end: startOfDayInZone(addDays(to, 1), timeZone) };
}

/**
 * One entry per day from `from` to `to`: the row for that day when there is one, else `zero`. Rows outside the
 * range are dropped, so the result always has exactly one point per local day (ClickHouse 18.16 has no WITH FILL).
 */
export function zeroFillDays<T extends { day: IsoDay }>(rows: readonly T[], from: IsoDay, to: IsoDay, zero: Omit<T, 'day'>): T[] {
	const byDay = new Map(rows.map((r) => [r.day, r]));
	return enumerateDays(from, to).map((day) => byDay.get(day) ?? ({ ...zero, day } as T));
}

// -----------------------------------------------------------------------------------------------------------------
// The calls-per-day chart: bars of calls (left axis) with minutes as a line (right axis).

export interface DailyCallsPoint {
	day: IsoDay;
	calls: number;
	durationSecs: number;
}

export const CHART_COLORS = {
	calls: '#2f5bd3',
	minutes: '#1f8a4c',
	grid: '#e6e9ef',
	text: '#5b6575'
} as const;

export type DailyCallsChartType = 'bar' | 'line';

/** Minutes with one decimal: the line reads in minutes while sums stay exact in seconds upstream. */
export const secondsToMinutes = (secs: number) => Math.round(secs / 6) / 10;

export function buildDailyCallsChart(
	points: readonly DailyCallsPoint[],
	formatDay: (day: IsoDay) => string
): { type: DailyCallsChartType; data: ChartData<DailyCallsChartType, number[], string>; options: ChartOptions<DailyCallsChartType> } {
	return {
		// A bar chart whose second dataset is drawn as a line (chart.js mixed chart).
		type: 'bar',
		data: {
			labels: points.map((p) => formatDay(p.day)),
			datasets: [
				{
					type: 'bar',
					label: 'Calls',
					data: points.map((p) => p.calls),
					backgroundColor: CHART_COLORS.calls,
					borderRadius: 3,
					maxBarThickness: 28,
					yAxisID: 'calls',
					order: 2
				},
				{
					type: 'line',
					label: 'Minutes',
					data: points.map((p) => secondsToMinutes(p.durationSecs)),
					borderColor: CHART_COLORS.minutes,
					backgroundColor: CHART_COLORS.minutes,
					borderWidth: 2,
					pointRadius: points.length > 31 ? 0 : 2.5,
					// Monotone: the curve never overshoots below zero or above a day's real value.
					cubicInterpolationMode: 'monotone',
					yAxisID: 'minutes',
					order: 1
				}
			]
		},
		options: {
			responsive: true,
			maintainAspectRatio: false,
			animation: { duration: 250 },
			interaction: { mode: 'index', intersect: false },
			plugins: {
				// `order` draws the line over the bars, and would list it first too; keep Calls first for reading.
				legend: { position: 'bottom', labels: { color: CHART_COLORS.text, boxWidth: 12, sort: (a, b) => (a.datasetIndex ?? 0) - (b.datasetIndex ?? 0) } },
				tooltip: { enabled: true, itemSort: (a, b) => a.datasetIndex - b.datasetIndex }
			},
			scales: {
				x: { grid: { display: false }, ticks: { color: CHART_COLORS.text, autoSkip: true, maxRotation: 0 } },
				calls: {
					type: 'linear',
					position: 'left',
					beginAtZero: true,
					title: { display: true, text: 'Calls', color: CHART_COLORS.text },
					ticks: { precision: 0, color: CHART_COLORS.text },
					grid: { color: CHART_COLORS.grid }
				},
				minutes: {
					type: 'linear',
					position: 'right',
					beginAtZero: true,
					title: { display: true, text: 'Minutes', color: CHART_COLORS.text },
					ticks: { color: CHART_COLORS.text },
					grid: { drawOnChartArea: false }
				}
			}
		}
	};
}
