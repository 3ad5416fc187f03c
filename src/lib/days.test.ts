import { describe, expect, it } from 'vitest';
import {
	addDays,
	dayRangeToInstants,
	daysBetween,
	enumerateDays,
	isIsoDay,
	isIsoMonth,
	isRangePreset,
	isTimeZone,
	localDayOf,
	monthOf,
	monthRange,
	parseDayRange,
	presetRange,
	previousPeriod,
	RANGE_PRESETS,
	startOfDayInZone,
	startOfPeriod,
	todayInZone,
	wallClockInZone
} from './days';

const HOUR = 3_600_000;

describe('calendar days', () => {
	it.each([
		['2025-03-09', true],
		['2024-02-29', true],
		['2025-02-29', false],
		['2025-13-01', false],
		['2025-04-31', false],
		['2025-3-9', false],
		['2025-03-09T00:00:00Z', false],
		['', false],
		[20250309, false],
		[null, false]
	])('isIsoDay(%j) = %s', (v, ok) => {
		expect(isIsoDay(v)).toBe(ok);
	});

	it.each([
		['2025-03', true],
		['2025-12', true],
		['2025-13', false],
		['2025-00', false],
		['2025-3', false],
		[202503, false]
	])('isIsoMonth(%j) = %s', (v, ok) => {
		expect(isIsoMonth(v)).toBe(ok);
	});

	it.each([
		['2025-03-09', 1, '2025-03-10'],
		['2025-03-09', -9, '2025-02-28'],
		['2024-02-28', 1, '2024-02-29'],
		['2024-12-31', 1, '2025-01-01'],
		['2025-11-02', 0, '2025-11-02'],
		// Calendar arithmetic ignores every zone's DST: the day after spring-forward Sunday is Monday.
		['2025-03-30', 1, '2025-03-31']
	])('addDays(%s, %i) = %s', (day, n, expected) => {
		expect(addDays(day, n)).toBe(expected);
	});

	it.each([
		['2025-03-01', '2025-03-14', 13],
		['2025-03-14', '2025-03-01', -13],
		['2024-01-01', '2025-01-01', 366],
		['2025-03-08', '2025-03-10', 2],
		['2025-10-25', '2025-10-27', 2]
	])('daysBetween(%s, %s) = %i', (from, to, n) => {
		expect(daysBetween(from, to)).toBe(n);
	});

	it('enumerates both ends and nothing when the range is reversed', () => {
		expect(enumerateDays('2024-02-27', '2024-03-01')).toEqual(['2024-02-27', '2024-02-28', '2024-02-29', '2024-03-01']);
		expect(enumerateDays('2025-03-02', '2025-03-01')).toEqual([]);
	});

	it('refuses a malformed date or zone instead of guessing', () => {
		expect(() => addDays('2025-02-30', 1)).toThrow(RangeError);
		expect(() => startOfDayInZone('2025-03-09', 'Mars/Olympus_Mons')).toThrow(RangeError);
		expect(() => monthRange('2025-13')).toThrow(RangeError);
		expect(isTimeZone('Europe/Berlin')).toBe(true);
		expect(isTimeZone('Europe/Nowhere')).toBe(false);
	});

	it.each([
		['2025-03-12', 'day', '2025-03-12'],
		['2025-03-12', 'week', '2025-03-10'], // ISO weeks start on Monday
		['2025-03-09', 'week', '2025-03-03'], // a Sunday belongs to the week before
		['2025-03-12', 'month', '2025-03-01']
	] as const)('startOfPeriod(%s, %s) = %s', (day, grain, expected) => {
		expect(startOfPeriod(day, grain)).toBe(expected);
	});

	it.each([
		['2024-02', { from: '2024-02-01', to: '2024-02-29' }], // leap year
		['2025-02', { from: '2025-02-01', to: '2025-02-28' }],
		['2100-02', { from: '2100-02-01', to: '2100-02-28' }], // century, not a leap year
		['2025-12', { from: '2025-12-01', to: '2025-12-31' }]
	])('monthRange(%s)', (month, expected) => {
		expect(monthRange(month)).toEqual(expected);
		expect(monthOf(expected.to)).toBe(month);
	});
});

describe('days in a time zone', () => {
	it.each([
		// [instant, zone, local day]
		['2025-03-10T02:30:00Z', 'America/New_York', '2025-03-09'],
		['2025-03-10T04:30:00Z', 'America/New_York', '2025-03-10'],
		['2025-03-10T02:30:00Z', 'UTC', '2025-03-10'],
		['2025-03-09T23:30:00Z', 'Asia/Kolkata', '2025-03-10'],
		['2025-03-09T18:14:59Z', 'Asia/Kathmandu', '2025-03-09'],
		['2025-03-29T23:30:00Z', 'Europe/Berlin', '2025-03-30'],
		['2025-10-25T22:30:00Z', 'Europe/Berlin', '2025-10-26']
	])('the local day of %s in %s is %s', (instant, zone, day) => {
		expect(todayInZone(zone, new Date(instant))).toBe(day);
		expect(localDayOf(new Date(instant).getTime(), zone)).toBe(day);
	});

	it.each([
		// [local day, zone, first instant of that day, hours in that day]
		['2025-03-08', 'America/New_York', '2025-03-08T05:00:00.000Z', 24], // EST
		['2025-03-09', 'America/New_York', '2025-03-09T05:00:00.000Z', 23], // springs forward at 02:00; midnight is EST
		['2025-03-10', 'America/New_York', '2025-03-10T04:00:00.000Z', 24], // EDT
		['2025-11-02', 'America/New_York', '2025-11-02T04:00:00.000Z', 25], // falls back at 02:00; midnight is EDT
		['2025-11-03', 'America/New_York', '2025-11-03T05:00:00.000Z', 24],
		['2025-03-30', 'Europe/Berlin', '2025-03-29T23:00:00.000Z', 23], // CET → CEST at 02:00
		['2025-03-31', 'Europe/Berlin', '2025-03-30T22:00:00.000Z', 24],
		['2025-10-26', 'Europe/Berlin', '2025-10-25T22:00:00.000Z', 25], // CEST → CET at 03:00
		['2025-10-27', 'Europe/Berlin', '2025-10-26T23:00:00.000Z', 24],
		['2025-03-10', 'Asia/Kolkata', '2025-03-09T18:30:00.000Z', 24],
		['2025-03-10', 'Asia/Kathmandu', '2025-03-09T18:15:00.000Z', 24],
		['2025-03-10', 'UTC', '2025-03-10T00:00:00.000Z', 24],
		// Santiago springs forward at local midnight: 00:00 does not exist, the day starts at 01:00 (-03).
		['2024-09-08', 'America/Santiago', '2024-09-08T04:00:00.000Z', 23],
		// …and falls back at midnight: 23:00–24:00 of the 6th happens twice, the 7th starts once, at 00:00 -04.
		['2024-04-06', 'America/Santiago', '2024-04-06T03:00:00.000Z', 25],
		['2024-04-07', 'America/Santiago', '2024-04-07T04:00:00.000Z', 24]
	])('%s in %s starts at %s and has %i hours', (day, zone, iso, hours) => {
		expect(startOfDayInZone(day, zone).toISOString()).toBe(iso);
		const { start, end } = dayRangeToInstants(day, day, zone);
		expect(start.toISOString()).toBe(iso);
		expect((end.getTime() - start.getTime()) / HOUR).toBe(hours);
	});

	it('puts the first instant of the Santiago gap day on that day, and the instant before on the day before', () => {
		const start = startOfDayInZone('2024-09-08', 'America/Santiago');
		expect(localDayOf(start, 'America/Santiago')).toBe('2024-09-08');
		expect(wallClockInZone(start, 'America/Santiago')).toMatchObject({ hour: 1, minute: 0 });
		expect(localDayOf(start.getTime() - 1, 'America/Santiago')).toBe('2024-09-07');
	});

	it('covers a week across a DST change with the right number of hours', () => {
		const { start, end } = dayRangeToInstants('2025-03-24', '2025-03-30', 'Europe/Berlin');
		expect((end.getTime() - start.getTime()) / HOUR).toBe(7 * 24 - 1);
	});
});

describe('range presets', () => {
	const at = (iso: string) => new Date(iso);
	it.each([
		// [preset, zone, now, expected range]
		['today', 'America/New_York', '2025-03-10T02:30:00Z', { from: '2025-03-09', to: '2025-03-09' }],
		['today', 'Europe/Berlin', '2025-03-09T23:30:00Z', { from: '2025-03-10', to: '2025-03-10' }],
		['7d', 'Europe/Berlin', '2025-03-31T10:00:00Z', { from: '2025-03-25', to: '2025-03-31' }],
		['30d', 'America/New_York', '2024-03-10T12:00:00Z', { from: '2024-02-10', to: '2024-03-10' }],
		['this-month', 'Europe/Berlin', '2025-02-28T23:30:00Z', { from: '2025-03-01', to: '2025-03-01' }],
		['this-month', 'America/New_York', '2025-03-01T03:00:00Z', { from: '2025-02-01', to: '2025-02-28' }],
		// Last month across a year boundary, decided by the tenant's local day (UTC is already in January).
		['last-month', 'Europe/Berlin', '2026-01-15T12:00:00Z', { from: '2025-12-01', to: '2025-12-31' }],
		['last-month', 'America/New_York', '2026-01-01T03:00:00Z', { from: '2025-11-01', to: '2025-11-30' }],
		['last-month', 'UTC', '2024-03-05T00:00:00Z', { from: '2024-02-01', to: '2024-02-29' }],
		['this-quarter', 'Europe/Berlin', '2025-05-20T12:00:00Z', { from: '2025-04-01', to: '2025-05-20' }],
		['this-quarter', 'America/New_York', '2026-01-01T03:00:00Z', { from: '2025-10-01', to: '2025-12-31' }],
		['this-quarter', 'UTC', '2025-12-31T23:59:59Z', { from: '2025-10-01', to: '2025-12-31' }]
	] as const)('%s in %s at %s', (preset, zone, now, expected) => {
		expect(presetRange(preset, zone, at(now))).toEqual(expected);
	});

	it('knows every preset by name and nothing else', () => {
		for (const p of RANGE_PRESETS) expect(isRangePreset(p)).toBe(true);
		expect(isRangePreset('14d')).toBe(false);
		expect(isRangePreset(undefined)).toBe(false);
	});

	it.each([
		[{ from: '2025-03-08', to: '2025-03-14' }, { from: '2025-03-01', to: '2025-03-07' }],
		[{ from: '2025-03-09', to: '2025-03-09' }, { from: '2025-03-08', to: '2025-03-08' }],
		// A month-long range is compared with the same number of days before it (not the calendar month).
		[{ from: '2025-03-01', to: '2025-03-31' }, { from: '2025-01-29', to: '2025-02-28' }],
		[{ from: '2025-01-01', to: '2025-01-10' }, { from: '2024-12-22', to: '2024-12-31' }],
		[{ from: '2024-03-01', to: '2024-03-01' }, { from: '2024-02-29', to: '2024-02-29' }]
	])('previousPeriod(%j) = %j', (range, expected) => {
		expect(previousPeriod(range)).toEqual(expected);
		expect(daysBetween(expected.from, expected.to)).toBe(daysBetween(range.from, range.to));
	});
});

describe('parseDayRange', () => {
	const fallback = () => ({ from: '2025-03-01', to: '2025-03-14' });
	it.each([
		[{}, { ok: true, range: fallback() }],
		[{ from: '', to: '' }, { ok: true, range: fallback() }],
		[{ from: null, to: null }, { ok: true, range: fallback() }],
		[{ from: '2025-03-02', to: '2025-03-05' }, { ok: true, range: { from: '2025-03-02', to: '2025-03-05' } }],
		// One end given: a single day.
		[{ from: '2025-03-02' }, { ok: true, range: { from: '2025-03-02', to: '2025-03-02' } }],
		[{ from: '', to: '2025-03-05' }, { ok: true, range: { from: '2025-03-05', to: '2025-03-05' } }],
		[{ from: '2025-03-05', to: '2025-03-05' }, { ok: true, range: { from: '2025-03-05', to: '2025-03-05' } }],
		[{ from: '2025-02-30', to: '2025-03-05' }, { ok: false, problem: 'invalid-day' }],
		[{ from: '03/01/2025', to: '2025-03-05' }, { ok: false, problem: 'invalid-day' }],
		[{ from: '2025-03-14', to: '2025-03-01' }, { ok: false, problem: 'reversed' }]
	])('parseDayRange(%j)', (input, expected) => {
		expect(parseDayRange(input, fallback)).toMatchObject(expected);
	});

	it('refuses a range longer than the limit with a message that names it', () => {
		expect(parseDayRange({ from: '2024-01-01', to: '2024-12-31' }, fallback, { maxDays: 366 })).toMatchObject({ ok: true });
		const r = parseDayRange({ from: '2024-01-01', to: '2025-01-01' }, fallback, { maxDays: 366 });
		expect(r).toMatchObject({ ok: false, problem: 'too-long' });
		expect(!r.ok && r.message).toContain('366');
	});
});
