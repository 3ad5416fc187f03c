import { describe, expect, it } from 'vitest';
import { guessColumnMapping, previewCsvText } from './csv-import';
import { normalisePhone } from './phone';
import { generateTrackingCodes, normaliseTrackingCode } from './tracking-code';

describe('guessColumnMapping', () => {
	it.each([
		[['Phone', 'First name', 'Last name', 'E-mail', 'Street address', 'ZIP', 'Customer ID'], { phone: 0, firstName: 1, lastName: 2, email: 3, address: 4, postcode: 5, customerId: 6 }],
		[['mobile_phone', 'given_name', 'surname', 'postal code'], { phone: 0, firstName: 1, lastName: 2, postcode: 3 }],
		[['Telefon', 'Vorname', 'Nachname', 'PLZ', 'Kundennummer'], { phone: 0, firstName: 1, lastName: 2, postcode: 3, customerId: 4 }],
		[['Mobile phone (home)', 'Notes'], { phone: 0 }],
		[['a', 'b', ''], {}]
	])('%j → %j', (headers, expected) => {
		expect(guessColumnMapping(headers)).toEqual(expected);
	});

	it('uses each column once', () => {
		const m = guessColumnMapping(['phone', 'phone number']);
		expect(m.phone).toBe(0);
		expect(Object.values(m)).toEqual([0]);
	});
});

describe('previewCsvText', () => {
	it.each([
		['comma', 'phone,name\r\n+1,"A, B"\r\n', ',', ['+1', 'A, B']],
		['semicolon with BOM', '\uFEFFphone;name\n+1;"A; B"\n', ';', ['+1', 'A; B']],
		['tab', 'phone\tname\n+1\tA B\n', '\t', ['+1', 'A B']]
	])('%s', (_name, text, delimiter, firstRow) => {
		const p = previewCsvText(text);
		expect(p.delimiter).toBe(delimiter);
		expect(p.headers).toEqual(['phone', 'name']);
		expect(p.rows[0]).toEqual(firstRow);
	});

	it('refuses an empty file', () => {
		expect(() => previewCsvText('\n\n')).toThrow(/empty/);
	});
});

describe('normalisePhone', () => {
	it.each([
		['(212) 555-1000', 'US', '+12125551000'],
		['+44 20 7946 0958', 'US', '+442079460958'],
		['020 7946 0958', 'GB', '+442079460958'],
		['212.555.1000', 'US', '+12125551000']
	])('%s in %s → %s', (raw, country, e164) => {
		expect(normalisePhone(raw, country)).toEqual({ ok: true, e164 });
	});

	it.each([
		['', 'missing'],
		['call me', 'not a phone number'],
		['555-12', 'not a valid number for US'],
		['+1 212 555', 'not a valid number']
	])('%j is refused (%s)', (raw, reason) => {
		const r = normalisePhone(raw, 'US');
		expect(r.ok).toBe(false);
		expect(r.ok ? '' : r.reason).toContain(reason);
	});
});

describe('tracking codes', () => {
	it('are 10 Crockford base32 characters and do not repeat', () => {
		const codes = generateTrackingCodes(20_000);
		for (const c of codes) expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{10}$/);
		expect(new Set(codes).size).toBe(codes.length);
	});

	it('read case-insensitively, with I/L as 1 and O as 0', () => {
		expect(normaliseTrackingCode(' abcdefghjk ')).toBe('ABCDEFGHJK');
		expect(normaliseTrackingCode('O1LI000000')).toBe('0111000000');
		expect(normaliseTrackingCode('ABCDEFGHJ')).toBeNull();
		expect(normaliseTrackingCode('ABCDEFGHJU')).toBeNull();
	});
});
