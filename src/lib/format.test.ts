import { describe, expect, it } from 'vitest';
import { statusTone } from './status';
import {
	describeChange,
	formatAverage,
	formatCredits,
	formatDateTimeInZone,
	formatDayRange,
	formatDayShort,
	formatDuration,
	formatLabel,
	formatMinutes,
	formatNumber,
	formatPercent
} from './format';

describe('formatters', () => {
	it.each([
		[0, '0'],
		[7, '7'],
		[1234, '1,234'],
		[1234567.8, '1,234,568'],
		[Number.NaN, '—']
	])('formatNumber(%d) = %s', (n, s) => {
		expect(formatNumber(n)).toBe(s);
	});

	it.each([
		[0, '0'],
		[48 / 14, '3.4'],
		[12, '12'],
		[1234.55, '1,234.6'],
		[Number.NaN, '—']
	])('formatAverage(%d) = %s', (n, s) => {
		expect(formatAverage(n)).toBe(s);
	});

	it.each([
		[0, '0 min'],
		[30, '0.5 min'],
		[59, '1.0 min'],
		[150, '2.5 min'],
		[599, '10.0 min'],
		[600, '10 min'],
		[3629, '60 min'],
		[74_000, '1,233 min'],
		[Number.POSITIVE_INFINITY, '—']
	])('formatMinutes(%d s) = %s', (secs, s) => {
		expect(formatMinutes(secs)).toBe(s);
	});

	it.each([
		[0, '0:00'],
		[7, '0:07'],
		[125, '2:05'],
		[125.6, '2:06'],
		[3600, '1:00:00'],
		[3723, '1:02:03'],
		[-1, '—']
	])('formatDuration(%d) = %s', (secs, s) => {
		expect(formatDuration(secs)).toBe(s);
	});

	it.each([
		[0, 0, '—'], // no calls: no rate, not 0% and not NaN%
		[0, 10, '0%'],
		[10, 10, '100%'],
		[1, 3, '33.3%'],
		[2, 3, '66.7%'],
		[5, 8, '62.5%']
	])('formatPercent(%i, %i) = %s', (part, whole, s) => {
		expect(formatPercent(part, whole)).toBe(s);
	});

	it.each([
		[0, '0'],
		[300, '300'],
		[1234.567, '1,234.57'],
		[Number.NaN, '—'],
		['455.500000', '455.5'],
		['1234.567000', '1,234.57'],
		['300.000000', '300'],
		['-0.004000', '0'],
		['12345678901.995000', '12,345,678,902'],
		['not a number', '—']
	])('formatCredits(%s) = %s', (n, s) => {
		expect(formatCredits(n)).toBe(s);
	});

	it.each([
		['2025-03-10T02:30:00Z', 'America/New_York', '2025-03-09 22:30'],
		['2025-03-09T07:30:00Z', 'America/New_York', '2025-03-09 03:30'], // just after spring-forward
		['2025-03-10T02:30:00Z', 'UTC', '2025-03-10 02:30'],
		['2025-01-01T00:00:00Z', 'Asia/Kolkata', '2025-01-01 05:30'],
		['2025-06-15T12:00:00Z', 'Europe/Berlin', '2025-06-15 14:00']
	])('formatDateTimeInZone(%s, %s) = %s', (iso, zone, s) => {
		expect(formatDateTimeInZone(new Date(iso), zone)).toBe(s);
	});

	it('prints nothing for a missing time', () => {
		expect(formatDateTimeInZone(null, 'UTC')).toBe('');
		expect(formatDateTimeInZone(new Date(Number.NaN), 'UTC')).toBe('');
	});

	it.each([
		['2025-03-09', 'Mar 9'],
		['2025-12-31', 'Dec 31']
	])('formatDayShort(%s) = %s', (day, s) => {
		expect(formatDayShort(day)).toBe(s);
	});

	it.each([
		['2025-03-09', '2025-03-09', 'Mar 9, 2025'],
		['2025-03-01', '2025-03-14', 'Mar 1 – 14, 2025'],
		['2025-02-20', '2025-03-05', 'Feb 20 – Mar 5, 2025'],
		['2024-12-25', '2025-01-07', 'Dec 25, 2024 – Jan 7, 2025']
	])('formatDayRange(%s, %s) = %s', (from, to, s) => {
		expect(formatDayRange(from, to)).toBe(s);
	});

	it.each([
		['inbound', 'Inbound'],
		['in-progress', 'In progress'],
		['success', 'Success'],
		['', '—'],
		[null, '—']
	])('formatLabel(%j) = %s', (v, s) => {
		expect(formatLabel(v)).toBe(s);
	});
});

describe('describeChange', () => {
	it.each([
		[120, 100, { text: '+20%', direction: 'up' }],
		[80, 100, { text: '−20%', direction: 'down' }],
		[100, 100, { text: 'no change', direction: 'flat' }],
		[0, 0, { text: 'no change', direction: 'flat' }],
		[5, 0, { text: 'new', direction: 'up' }],
		[0, 4, { text: '−100%', direction: 'down' }],
		[1001, 1000, { text: '+0.1%', direction: 'up' }],
		[100000, 1000, { text: '+9,900%', direction: 'up' }],
		[10000, 10001, { text: 'no change', direction: 'flat' }],
		[Number.NaN, 3, null]
	])('describeChange(%d, %d)', (current, previous, expected) => {
		expect(describeChange(current, previous)).toEqual(expected);
	});
});

describe('statusTone', () => {
	it.each([
		['done', 'ok'],
		['success', 'ok'],
		['active', 'ok'],
		['failed', 'bad'],
		['failure', 'bad'],
		['suspended', 'bad'],
		['in-progress', 'pending'],
		['processing', 'pending'],
		['unknown', 'neutral'],
		[null, 'neutral']
	])('%s reads as %s', (value, tone) => {
		expect(statusTone(value)).toBe(tone);
	});
});
