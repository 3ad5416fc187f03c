import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { queryRows } from '../../src/lib/server/analytics/client';
import { decimal, ident, joinSql, literal, LiteralError, sql, type ChValue } from '../../src/lib/server/analytics/literal';
import { fromUnits } from '../../src/lib/decimal';
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

	it('round-trips 5,000 random decimals exactly through Decimal(18, 6), and sums them exactly', async () => {
		const seed = 20261201;
		const r = rng(seed);
		// Units of 10^-6 up to 12 integer digits, with signs, zeros, the extremes and the shapes text may take.
		const unitsOf = (): bigint => {
			const p = r();
			if (p < 0.05) return 0n;
			if (p < 0.1) return (r() < 0.5 ? -1n : 1n) * (10n ** 18n - 1n);
			const digits = 1 + Math.floor(r() * 18);
			let u = 0n;
			for (let i = 0; i < digits; i++) u = u * 10n + BigInt(Math.floor(r() * 10));
			return r() < 0.4 ? -u : u;
		};
		const units = Array.from({ length: 5000 }, unitsOf);
		// Written in varied but valid forms: trailing zeros dropped, leading zeros added, integer-only.
		const texts = units.map((u, i) => {
			const t = fromUnits(u, 6);
			if (i % 3 === 0) return t.replace(/\.?0+$/, '') || '0';
			if (i % 3 === 1) return t.replace(/^(-?)/, '$100');
			return t;
		});
		const Row = z.object({ v: z.array(z.string()), total: z.string() });
		for (let i = 0; i < texts.length; i += 500) {
			const batch = texts.slice(i, i + 500);
			const list = batch.map((t) => decimal(t, 6));
			const arr = sql`[${joinSql(list)}]`;
			const [row] = await queryRows(stores.ch, // 18.16's arraySum does not take Decimal; sum() over arrayJoin does (into Decimal(38, 6)).
				sql`SELECT arrayMap(x -> toString(x), ${arr}) AS v, (SELECT toString(sum(x)) FROM (SELECT arrayJoin(${arr}) AS x)) AS total`, Row);
			const want = units.slice(i, i + 500);
			expect(row.v, `seed ${seed}, batch at ${i}`).toEqual(want.map((u) => fromUnits(u, 6)));
			expect(row.total, `seed ${seed}, batch at ${i}`).toBe(fromUnits(want.reduce((a, b) => a + b, 0n), 6));
		}
	});

	it('refuses decimals it cannot bind exactly', () => {
		const bad: unknown[] = [12.5, '1e3', '1.1234567', '1234567890123', ' 1', '+1', '1.', '.5', '1,5', "1'; DROP TABLE x; --", '0x10', '', '--1', NaN];
		for (const v of bad) expect(() => decimal(v as string, 6), String(v)).toThrow(LiteralError);
		expect(decimal('-0.000', 6).text).toBe("toDecimal64('0', 6)");
		expect(decimal('000012.50', 6).text).toBe("toDecimal64('12.5', 6)");
	});
});
