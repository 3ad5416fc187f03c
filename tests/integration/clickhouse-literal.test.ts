import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { queryRows } from '../../src/lib/server/analytics/client';
import { ident, literal, LiteralError, sql, type ChValue } from '../../src/lib/server/analytics/literal';
import { connectTestStores } from '../setup/stores';

const stores = connectTestStores();
afterAll(() => stores.close());

// Seeded PRNG so a failure reproduces; the seed is printed in the assertion message.
function rng(seed: number) {
	return () => {
		seed = (seed + 0x6d2b79f5) | 0;
		let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const NASTY = ["'", '"', '\\', '`', '{', '}', '{x:String}', '?', ';', '--', '/*', '*/', '\0', '\n', '\r', '\t', '\x1b', '\x7f', '\\x00', "\\'", '%', '$1'];
const UNICODE = ['é', 'ß', 'Ж', '中', '文', '😀', '👩‍👩‍👧', '\u00a0', '\u2028', '\u200b', '\ufeff', '𝔘', 'ﷺ'];

function randomString(r: () => number): string {
	const len = Math.floor(r() * 40);
	let s = '';
	for (let i = 0; i < len; i++) {
		const p = r();
		if (p < 0.3) s += NASTY[Math.floor(r() * NASTY.length)];
		else if (p < 0.5) s += UNICODE[Math.floor(r() * UNICODE.length)];
		else if (p < 0.65) s += String.fromCharCode(Math.floor(r() * 32)); // control bytes incl. NUL
		else s += String.fromCharCode(32 + Math.floor(r() * 95));
	}
	return s;
}

const HexRow = z.object({ h: z.array(z.string()), s: z.array(z.string()) });

describe('ClickHouse literal binding (real server)', () => {
	it('round-trips 5,000 hostile strings byte for byte', async () => {
		const seed = 20261122;
		const r = rng(seed);
		const strings = Array.from({ length: 5000 }, () => randomString(r));
		for (let i = 0; i < strings.length; i += 500) {
			const batch = strings.slice(i, i + 500);
			const arr = sql`${batch}`;
			const [row] = await queryRows(stores.ch, sql`SELECT arrayMap(x -> hex(x), ${arr}) AS h, ${arr} AS s`, HexRow);
			const want = batch.map((s) => Buffer.from(s, 'utf8').toString('hex').toUpperCase());
			expect(row.h, `seed ${seed}, batch at ${i}`).toEqual(want);
			expect(row.s).toEqual(batch);
		}
	});

	it('renders numbers, booleans, dates, null and nested arrays as the server reads them', async () => {
		const when = new Date('2026-03-04T05:06:07.890Z');
		const q = sql`SELECT ${42} AS i, ${-7} AS neg, ${1.5e-7} AS f, ${2n ** 62n} AS big, ${true} AS b,
			toUnixTimestamp(${when}) AS ts, isNull(${null}) AS n, ${[[1, 2], [3]]} AS nested, 10-${-3} AS minus`;
		const [row] = await queryRows(stores.ch, q, z.record(z.string(), z.unknown()));
		expect(row).toMatchObject({ i: 42, neg: -7, b: 1, ts: Math.floor(when.getTime() / 1000), n: 1, nested: [[1, 2], [3]], minus: 13 });
		expect(Number(row.f)).toBeCloseTo(1.5e-7, 12);
		expect(String(row.big)).toBe((2n ** 62n).toString());
	});

	it('keeps injection attempts inside the literal', async () => {
		const attempts = [
			"' OR 1=1 --",
			"x' UNION ALL SELECT 'pwned",
			"\\' OR 1=1 --",
			"'; DROP TABLE schema_migrations; --",
			"\\\\' OR '1'='1",
			'{p:String}',
			"\0' OR 1=1"
		];
		for (const evil of attempts) {
			const rows = await queryRows(
				stores.ch,
				sql`SELECT count() AS c FROM (SELECT 'a' AS x UNION ALL SELECT 'b' AS x) WHERE x = ${evil}`,
				z.object({ c: z.coerce.number() })
			);
			expect(rows, evil).toEqual([{ c: 0 }]);
		}
		const tables = await queryRows(stores.ch, sql`SELECT count() AS c FROM system.tables WHERE name = 'schema_migrations'`, z.object({ c: z.coerce.number() }));
		expect(tables[0].c).toBeGreaterThan(0);
	});

	it('refuses values that cannot be rendered exactly', () => {
		const bad: unknown[] = [NaN, Infinity, -Infinity, new Date('nope'), '\ud800', undefined, { a: 1 }, () => 1, Symbol('s')];
		for (const v of bad) expect(() => literal(v as ChValue), String(v?.toString?.())).toThrow(LiteralError);
		expect(() => ident('events; DROP')).toThrow(LiteralError);
		expect(() => ident("a'b")).toThrow(LiteralError);
		expect(ident('voxcalls.call_events').text).toBe('voxcalls.call_events');
	});
});
