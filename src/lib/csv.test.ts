import { describe, expect, it } from 'vitest';
import { csvCell, toCsv } from './csv';

describe('csv', () => {
	it.each([
		[null, ''],
		[undefined, ''],
		['plain', 'plain'],
		[42, '42'],
		['a,b', '"a,b"'],
		['say "hi"', '"say ""hi"""'],
		['line\nbreak', '"line\nbreak"'],
		['=SUM(A1)', "'=SUM(A1)"],
		['+1 555', "'+1 555"],
		['-3', "'-3"],
		[-3, '-3'],
		['@cmd', "'@cmd"],
		[new Date('2025-01-02T03:04:05Z'), '2025-01-02T03:04:05.000Z'],
		[{ a: 1 }, '"{""a"":1}"']
	])('csvCell(%j) = %j', (input, expected) => {
		expect(csvCell(input)).toBe(expected);
	});

	it('joins rows with CRLF and a trailing newline', () => {
		expect(toCsv(['a', 'b'], [[1, 'x,y']])).toBe('a,b\r\n1,"x,y"\r\n');
	});
});
