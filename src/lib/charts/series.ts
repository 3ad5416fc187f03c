import type { ChartData, ChartOptions } from 'chart.js';
import { enumerateDays, type IsoDay } from '../days';

// Pure builders for the dashboard's series: zero-filled day series and the chart.js data/options of the
// calls-per-day chart. Client-safe. Days, ranges and time zones are src/lib/days.ts's.

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
