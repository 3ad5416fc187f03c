import { describe, expect, it } from 'vitest';
import { buildDailyCallsChart, secondsToMinutes, zeroFillDays } from './series';

describe('zeroFillDays', () => {
	const zero = { calls: 0, durationSecs: 0 };
	it.each([
		{
			name: 'fills the gaps of a range across the New York spring-forward',
			rows: [
				{ day: '2025-03-08', calls: 2, durationSecs: 60 },
				{ day: '2025-03-10', calls: 1, durationSecs: 30 }
			],
			from: '2025-03-07',
			to: '2025-03-11',
			expected: [
				{ day: '2025-03-07', calls: 0, durationSecs: 0 },
				{ day: '2025-03-08', calls: 2, durationSecs: 60 },
				{ day: '2025-03-09', calls: 0, durationSecs: 0 },
				{ day: '2025-03-10', calls: 1, durationSecs: 30 },
				{ day: '2025-03-11', calls: 0, durationSecs: 0 }
			]
		},
		{
			name: 'has one point per day across the fall-back (25-hour day)',
			rows: [{ day: '2025-11-02', calls: 5, durationSecs: 500 }],
			from: '2025-11-01',
			to: '2025-11-03',
			expected: [
				{ day: '2025-11-01', calls: 0, durationSecs: 0 },
				{ day: '2025-11-02', calls: 5, durationSecs: 500 },
				{ day: '2025-11-03', calls: 0, durationSecs: 0 }
			]
		},
		{
			name: 'drops rows outside the range',
			rows: [
				{ day: '2025-01-01', calls: 9, durationSecs: 9 },
				{ day: '2025-01-03', calls: 1, durationSecs: 1 }
			],
			from: '2025-01-02',
			to: '2025-01-03',
			expected: [
				{ day: '2025-01-02', calls: 0, durationSecs: 0 },
				{ day: '2025-01-03', calls: 1, durationSecs: 1 }
			]
		},
		{
			name: 'is all zeros with no rows',
			rows: [],
			from: '2024-02-28',
			to: '2024-03-01',
			expected: [
				{ day: '2024-02-28', calls: 0, durationSecs: 0 },
				{ day: '2024-02-29', calls: 0, durationSecs: 0 },
				{ day: '2024-03-01', calls: 0, durationSecs: 0 }
			]
		}
	])('$name', ({ rows, from, to, expected }) => {
		expect(zeroFillDays(rows, from, to, zero)).toEqual(expected);
	});
});

describe('buildDailyCallsChart', () => {
	it('puts calls in bars on the left axis and minutes in a line on the right', () => {
		const { data, options } = buildDailyCallsChart(
			[
				{ day: '2025-03-09', calls: 3, durationSecs: 185 },
				{ day: '2025-03-10', calls: 0, durationSecs: 0 }
			],
			(d) => `L${d.slice(8)}`
		);
		expect(data.labels).toEqual(['L09', 'L10']);
		const [bars, line] = data.datasets;
		expect(bars).toMatchObject({ type: 'bar', label: 'Calls', data: [3, 0], yAxisID: 'calls' });
		expect(line).toMatchObject({ type: 'line', label: 'Minutes', data: [3.1, 0], yAxisID: 'minutes' });
		expect(options.scales?.calls).toMatchObject({ position: 'left', beginAtZero: true });
		expect(options.scales?.minutes).toMatchObject({ position: 'right' });
	});

	it.each([
		[0, 0],
		[59, 1],
		[60, 1],
		[90, 1.5],
		[3599, 60]
	])('secondsToMinutes(%i) = %d', (secs, min) => {
		expect(secondsToMinutes(secs)).toBe(min);
	});
});
