import { describe, expect, it } from 'vitest';
import {
	addDays,
	buildDailyCallsChart,
	dayRangeToInstants,
	daysBetween,
	enumerateDays,
	isIsoDay,
	secondsToMinutes,
	startOfDayInZone,
	todayInZone,
	zeroFillDays
} from './series';

describe('calendar days', () => {
	it.each([
		['2025-03-09', true],
		['2024-02-29', true],
		['2025-02-29', false],
		['2025-13-01', false],
		['2025-3-9', false],
		['2025-03-09T00:00:00Z', false],
		['', false],
		[20250309, false]
	])('isIsoDay(%j) = %s', (v, ok) => {
		expect(isIsoDay(v)).toBe(ok);
	});

	it.each([
		['2025-03-09', 1, '2025-03-10'],
		['2025-03-09', -9, '2025-02-28'],
		['2024-02-28', 1, '2024-02-29'],
		['2024-12-31', 1, '2025-01-01'],
		['2025-11-02', 0, '2025-11-02']
	])('addDays(%s, %i) = %s', (day, n, expected) => {
		expect(addDays(day, n)).toBe(expected);
	});

	it.each([
		['2025-03-01', '2025-03-14', 13],
		['2025-03-14', '2025-03-01', -13],
		['2024-01-01', '2025-01-01', 366],
		['2025-03-08', '2025-03-10', 2]
	])('daysBetween(%s, %s) = %i', (from, to, n) => {
		expect(daysBetween(from, to)).toBe(n);
	});

	it('enumerates both ends and nothing when the range is reversed', () => {
		expect(enumerateDays('2025-02-27', '2025-03-02')).toEqual(['2025-02-27', '2025-02-28', '2025-03-01', '2025-03-02']);
		expect(enumerateDays('2025-03-02', '2025-03-01')).toEqual([]);
	});

	it('refuses a malformed date instead of guessing', () => {
		expect(() => addDays('2025-02-30', 1)).toThrow(RangeError);
	});
});

describe('days in a timezone', () => {
	it.each([
		// [instant, zone, local day]
		['2025-03-10T02:30:00Z', 'America/New_York', '2025-03-09'],
		['2025-03-10T04:30:00Z', 'America/New_York', '2025-03-10'],
		['2025-03-10T02:30:00Z', 'UTC', '2025-03-10'],
		['2025-03-09T23:30:00Z', 'Asia/Kolkata', '2025-03-10'],
		['2025-03-09T18:14:59Z', 'Asia/Kathmandu', '2025-03-09']
	])('todayInZone at %s in %s is %s', (instant, zone, day) => {
		expect(todayInZone(zone, new Date(instant))).toBe(day);
	});

	it.each([
		// [local day, zone, first instant of that day]
		['2025-03-08', 'America/New_York', '2025-03-08T05:00:00.000Z'], // EST
		['2025-03-09', 'America/New_York', '2025-03-09T05:00:00.000Z'], // DST starts at 02:00 that day, midnight is still EST
		['2025-03-10', 'America/New_York', '2025-03-10T04:00:00.000Z'], // EDT
		['2025-11-02', 'America/New_York', '2025-11-02T04:00:00.000Z'], // falls back at 02:00, midnight is EDT
		['2025-11-03', 'America/New_York', '2025-11-03T05:00:00.000Z'],
		['2025-03-10', 'Asia/Kolkata', '2025-03-09T18:30:00.000Z'],
		['2025-03-10', 'Asia/Kathmandu', '2025-03-09T18:15:00.000Z'],
		['2025-03-10', 'UTC', '2025-03-10T00:00:00.000Z'],
		['2025-03-30', 'Europe/Berlin', '2025-03-29T23:00:00.000Z'],
		['2025-03-31', 'Europe/Berlin', '2025-03-30T22:00:00.000Z'],
		// Santiago springs forward at local midnight: 00:00 does not exist, the day starts at 01:00 (-03).
		['2024-09-08', 'America/Santiago', '2024-09-08T04:00:00.000Z']
	])('startOfDayInZone(%s, %s) = %s', (day, zone, iso) => {
		expect(startOfDayInZone(day, zone).toISOString()).toBe(iso);
	});

	it('covers a DST day with 23 hours and a fall-back day with 25', () => {
		const spring = dayRangeToInstants('2025-03-09', '2025-03-09', 'America/New_York');
		expect((spring.end.getTime() - spring.start.getTime()) / 3_600_000).toBe(23);
		const fall = dayRangeToInstants('2025-11-02', '2025-11-02', 'America/New_York');
		expect((fall.end.getTime() - fall.start.getTime()) / 3_600_000).toBe(25);
	});

	it('throws on an unknown zone', () => {
		expect(() => startOfDayInZone('2025-03-09', 'Mars/Olympus_Mons')).toThrow(RangeError);
	});
});

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
