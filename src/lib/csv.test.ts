import { describe, expect, it } from 'vitest';
import { csvHeader, csvRows, parseCsv, toCsv } from './csv';

describe('csv', () => {
	it.each([
		[null, ''],
		[undefined, ''],
		['plain', 'plain'],
		[42, '42'],
		['a,b', '"a,b"'],
		['say "hi"', '"say ""hi"""'],
		['line\nbreak', '"line\nbreak"'],
		[new Date('2025-01-02T03:04:05Z'), '2025-01-02T03:04:05.000Z'],
		[{ a: 1 }, '"{""a"":1}"'],
		// Formula-like text is neutralised with a leading quote (and quoted); numbers stay numbers.
		['=SUM(A1)', `"'=SUM(A1)"`],
		['+1 555', `"'+1 555"`],
		['-3', `"'-3"`],
		[-3, '-3'],
		['@cmd', `"'@cmd"`],
		['\tcmd', `"'\tcmd"`],
		['\rcmd', `"'\rcmd"`],
		// papaparse's default pattern would let this one through: the formula is followed by a line break.
		['=HYPERLINK("http://x")\nclick', `"'=HYPERLINK(""http://x"")\nclick"`],
		['a=b', 'a=b']
	])('a cell %j is written as %j', (input, expected) => {
		expect(csvRows([[input]])).toBe(`${expected}\r\n`);
	});

	it('joins rows with CRLF and ends with one', () => {
		expect(toCsv(['a', 'b'], [[1, 'x,y']])).toBe('a,b\r\n1,"x,y"\r\n');
		expect(toCsv(['a', 'b'], [])).toBe('a,b\r\n');
		expect(csvRows([])).toBe('');
	});

	it('streams: a header and chunks concatenate into the same document', () => {
		const rows = [
			[1, 'one'],
			[2, 'two, too'],
			[3, '=3']
		];
		expect(csvHeader(['n', 'name']) + csvRows(rows.slice(0, 2)) + csvRows(rows.slice(2))).toBe(toCsv(['n', 'name'], rows));
	});

	it('reads back what it writes', () => {
		const text = toCsv(['id', 'note'], [
			['a', 'multi\nline, with "quotes"'],
			['b', '']
		]);
		expect(parseCsv(text)).toEqual({
			rows: [
				['id', 'note'],
				['a', 'multi\nline, with "quotes"'],
				['b', '']
			],
			errors: []
		});
	});
});
