import { describe, expect, it } from 'vitest';
import { encodeJsonEachRow } from './json-each-row';
import { LiteralError } from './literal';

describe('JSONEachRow with exact decimals', () => {
	it('writes decimal columns as bare numerals and everything else as JSON', () => {
		expect(encodeJsonEachRow([{ id: 'a"b', cost: '12.500000', n: 3 }], ['cost'])).toBe('{"id":"a\\"b","cost":12.500000,"n":3}\n');
		expect(encodeJsonEachRow([{ cost: '-0.000001' }, { cost: '0' }], ['cost'])).toBe('{"cost":-0.000001}\n{"cost":0}\n');
	});

	it('renders a float only for facts written before money was exact, at the scale the column was converted to', () => {
		expect(encodeJsonEachRow([{ cost: 412.5 }], ['cost'])).toBe('{"cost":412.500000}\n');
	});

	it('refuses anything in a decimal column that is not a plain numeral, so nothing can be smuggled into the row', () => {
		for (const bad of ['1,"sign":-1', '1e3', '', ' 1', 'NaN', null, Number.POSITIVE_INFINITY, {}]) {
			expect(() => encodeJsonEachRow([{ cost: bad }], ['cost']), String(bad)).toThrow(LiteralError);
		}
	});
});
