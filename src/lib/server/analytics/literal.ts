// The one place values become ClickHouse SQL. ClickHouse 18.16 has no server-side query parameters
// (and @clickhouse/client's query_params need them), so every value is rendered here as a literal.
// Audit notes:
// - Strings: backslash and quote are backslash-escaped; every control byte (0x00-0x1F, 0x7F) becomes \xHH,
//   so no raw NUL, newline or CR ever reaches the parser; other UTF-8 passes through unchanged. Strings that
//   are not well-formed UTF-16 (lone surrogates) cannot round-trip through UTF-8 and are refused.
// - Numbers: only finite values; negatives are parenthesised so `a-${-1}` can never form a `--` comment.
// - Decimals (money, credits): decimal() takes decimal text only (never a JS number), checks it is a plain numeral
//   that fits Decimal64 at the given scale, and renders toDecimal64('<text>', scale): digits, one point, one minus.
// - Identifiers never come from input: ident() accepts only plain names and is meant for constants in code.

const brand: unique symbol = Symbol('ChSql');

export interface ChSql {
	readonly [brand]: true;
	readonly text: string;
}

export type ChScalar = string | number | bigint | boolean | Date | null;
export type ChValue = ChScalar | readonly ChValue[];

export class LiteralError extends Error {
	override name = 'LiteralError';
}

const HEX = '0123456789ABCDEF';

export function stringLiteral(s: string): string {
	if (!s.isWellFormed()) throw new LiteralError('string is not well-formed Unicode (lone surrogate)');
	let out = "'";
	for (let i = 0; i < s.length; i++) {
		const c = s.charCodeAt(i);
		if (c === 0x5c) out += '\\\\';
		else if (c === 0x27) out += "\\'";
		else if (c < 0x20 || c === 0x7f) out += '\\x' + HEX[c >> 4] + HEX[c & 15];
		else out += s[i];
	}
	return out + "'";
}

function numberLiteral(n: number | bigint): string {
	if (typeof n === 'number' && !Number.isFinite(n)) throw new LiteralError(`not a finite number: ${n}`);
	const text = typeof n === 'bigint' ? n.toString() : String(n);
	return text.startsWith('-') ? `(${text})` : text;
}

export function literal(v: ChValue): string {
	if (v === null) return 'NULL';
	switch (typeof v) {
		case 'string':
			return stringLiteral(v);
		case 'number':
		case 'bigint':
			return numberLiteral(v);
		case 'boolean':
			return v ? '1' : '0';
		case 'object':
			if (v instanceof Date) {
				const ms = v.getTime();
				if (!Number.isFinite(ms)) throw new LiteralError('invalid Date');
				// DateTime has second precision; a unix-seconds argument is timezone-independent.
				return `toDateTime(${numberLiteral(Math.floor(ms / 1000))})`;
			}
			if (Array.isArray(v)) return '[' + v.map(literal).join(', ') + ']';
	}
	throw new LiteralError(`cannot render a ${typeof v} as a ClickHouse literal`);
}

/** Largest scale and digit count a Decimal64 holds (precision 18). */
export const DECIMAL64_DIGITS = 18;
const DECIMAL_TEXT = /^-?(\d+)(?:\.(\d+))?$/;

/**
 * A Decimal64 value from exact decimal text ("12.5", "-0.000001"): `toDecimal64('12.5', 6)`. Refuses numbers (a
 * float has already lost the exact value), exponents, more fraction digits than `scale`, and more than 18 digits.
 */
export function decimal(text: string, scale = 6): ChSql {
	if (typeof text !== 'string') throw new LiteralError(`decimal() takes decimal text, not a ${typeof text}`);
	if (!Number.isInteger(scale) || scale < 0 || scale > DECIMAL64_DIGITS) throw new LiteralError(`bad Decimal64 scale: ${scale}`);
	const m = DECIMAL_TEXT.exec(text);
	if (!m) throw new LiteralError(`not a decimal numeral: ${JSON.stringify(text)}`);
	const int = m[1].replace(/^0+(?=\d)/, '');
	const frac = (m[2] ?? '').replace(/0+$/, '');
	if (frac.length > scale) throw new LiteralError(`${text} has more than ${scale} decimal places`);
	if (int.length + scale > DECIMAL64_DIGITS) throw new LiteralError(`${text} does not fit Decimal(${DECIMAL64_DIGITS}, ${scale})`);
	const negative = text.startsWith('-') && (int !== '0' || frac !== '');
	const canonical = `${negative ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
	return make(`toDecimal64(${stringLiteral(canonical)}, ${scale})`);
}

function make(text: string): ChSql {
	return { [brand]: true, text } as ChSql;
}

export function isChSql(v: unknown): v is ChSql {
	return typeof v === 'object' && v !== null && (v as ChSql)[brand] === true;
}

/** Tagged template: interpolated values become literals; nested `sql` fragments are spliced as-is. */
export function sql(strings: TemplateStringsArray, ...values: (ChValue | ChSql)[]): ChSql {
	let text = strings[0];
	for (let i = 0; i < values.length; i++) {
		const v = values[i];
		text += (isChSql(v) ? v.text : literal(v)) + strings[i + 1];
	}
	return make(text);
}

/** A table or column name written in code. Never pass user input here. */
export function ident(name: string): ChSql {
	if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(name)) {
		throw new LiteralError(`not a plain identifier: ${JSON.stringify(name)}`);
	}
	return make(name);
}

export function joinSql(parts: readonly ChSql[], separator = ', '): ChSql {
	return make(parts.map((p) => p.text).join(separator));
}

export const emptySql = make('');
