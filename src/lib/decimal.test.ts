import { describe, expect, it } from 'vitest';
import { addDecimals, decimalFromJsonNumber, DecimalError, formatDecimal, fromUnits, normalizeDecimal, roundDecimal, subtractDecimal, toUnits } from './decimal';

describe('exact decimal text', () => {
	it.each([
		['0', 6, 0n],
		['12.5', 6, 12_500_000n],
		['-0.000001', 6, -1n],
		['999999999999.999999', 6, 999_999_999_999_999_999n],
		['007.10', 2, 710n]
	])('toUnits(%s, %d) = %d', (text, scale, units) => {
		expect(toUnits(text, scale)).toBe(units);
		expect(toUnits(fromUnits(units, scale), scale)).toBe(units);
	});

	it('refuses what it cannot hold exactly rather than rounding', () => {
		for (const bad of ['1.1234567', '1e3', '', ' 1', '+1', '.5', '1.', 'abc']) expect(() => toUnits(bad, 6), bad).toThrow(DecimalError);
	});

	it.each([
		['0.125', 2, '0.13'],
		['-0.125', 2, '-0.13'],
		['0.124999', 2, '0.12'],
		['1.005', 2, '1.01'],
		['2', 2, '2.00'],
		['19.999999', 2, '20.00']
	])('roundDecimal(%s, %d) = %s (half away from zero)', (text, scale, want) => {
		expect(roundDecimal(text, scale)).toBe(want);
	});

	it('adds and subtracts without a float: 0.1 + 0.2 is 0.3', () => {
		expect(addDecimals(['0.1', '0.2'], 6)).toBe('0.300000');
		expect(subtractDecimal('0.3', '0.1', 2)).toBe('0.20');
		expect(addDecimals(Array(1000).fill('0.01'), 2)).toBe('10.00');
		expect(normalizeDecimal('-0', 2)).toBe('0.00');
	});

	it.each([
		[412.5, '412.5'],
		[0, '0'],
		[-0, '0'],
		[1e-7, '0.0000001'],
		[1.5e21, '1500000000000000000000'],
		[123456.789, '123456.789'],
		[Number.NaN, null],
		[Number.POSITIVE_INFINITY, null]
	])('decimalFromJsonNumber(%d) = %s', (n, want) => {
		expect(decimalFromJsonNumber(n)).toBe(want);
	});

	it('formats money for display', () => {
		expect(formatDecimal('1234567.891')).toBe('1,234,567.89');
		expect(formatDecimal('-0.001')).toBe('0.00');
		expect(formatDecimal('-12.5')).toBe('-12.50');
	});
});

describe('averages and signed sums', () => {
	it('divides exactly, rounding half away from zero', async () => {
		const { divideDecimal, sumSigned } = await import('./decimal');
		expect(divideDecimal('1.000000', 3, 4)).toBe('0.3333');
		expect(divideDecimal('2.000000', 3, 4)).toBe('0.6667');
		expect(divideDecimal('-0.05', 2, 2)).toBe('-0.03');
		expect(divideDecimal('10', 4, 2)).toBe('2.50');
		expect(sumSigned([[1, '1.50'], [-1, '0.222228'], [-1, '0.043']], 6)).toBe('1.234772');
	});
});
