// Exact decimal text for money and credits. Values travel as strings ("12.5", "-0.000001") from the upstream JSON
// to PostgreSQL numeric and ClickHouse Decimal and back; arithmetic here is on scaled bigints, never JS floats.
// Client-safe: pages format the same strings the server computes.

/** A plain decimal numeral: optional minus, digits, optional fraction. No exponent, no spaces, no plus sign. */
export type DecimalText = string;

const DECIMAL = /^-?\d+(\.\d+)?$/;

export class DecimalError extends RangeError {
	override name = 'DecimalError';
}

export function isDecimalText(v: unknown): v is DecimalText {
	return typeof v === 'string' && DECIMAL.test(v);
}

/** `text` as an integer count of 10^-scale units; refuses more fraction digits than `scale` (never rounds silently). */
export function toUnits(text: DecimalText, scale: number): bigint {
	if (!isDecimalText(text)) throw new DecimalError(`not a decimal number: ${JSON.stringify(text)}`);
	const negative = text.startsWith('-');
	const [int, frac = ''] = (negative ? text.slice(1) : text).split('.');
	const trimmed = frac.replace(/0+$/, '');
	if (trimmed.length > scale) throw new DecimalError(`${text} has more than ${scale} decimal places`);
	const units = BigInt(int) * 10n ** BigInt(scale) + BigInt((trimmed + '0'.repeat(scale)).slice(0, scale) || '0');
	return negative ? -units : units;
}

/** Integer units of 10^-scale as decimal text with exactly `scale` fraction digits ("-0.500000"). */
export function fromUnits(units: bigint, scale: number): DecimalText {
	const negative = units < 0n;
	const abs = (negative ? -units : units).toString().padStart(scale + 1, '0');
	const text = scale === 0 ? abs : `${abs.slice(0, -scale)}.${abs.slice(-scale)}`;
	return negative ? `-${text}` : text;
}

/** Canonical text with exactly `scale` fraction digits ("12.5" → "12.500000" at scale 6). */
export function normalizeDecimal(text: DecimalText, scale: number): DecimalText {
	return fromUnits(toUnits(text, scale), scale);
}

/** Rounds half away from zero to `scale` places (money to the cent: scale 2). */
export function roundDecimal(text: DecimalText, scale: number): DecimalText {
	if (!isDecimalText(text)) throw new DecimalError(`not a decimal number: ${JSON.stringify(text)}`);
	const frac = text.split('.')[1] ?? '';
	if (frac.length <= scale) return normalizeDecimal(text, scale);
	const units = toUnits(text, frac.length);
	const factor = 10n ** BigInt(frac.length - scale);
	const abs = units < 0n ? -units : units;
	const rounded = (abs + factor / 2n) / factor;
	return fromUnits(units < 0n ? -rounded : rounded, scale);
}

export function addDecimals(values: readonly DecimalText[], scale: number): DecimalText {
	return fromUnits(
		values.reduce((sum, v) => sum + toUnits(v, scale), 0n),
		scale
	);
}

export function subtractDecimal(a: DecimalText, b: DecimalText, scale: number): DecimalText {
	return fromUnits(toUnits(a, scale) - toUnits(b, scale), scale);
}

export function isZeroDecimal(text: DecimalText): boolean {
	return /^-?0+(\.0+)?$/.test(text);
}

/**
 * A number parsed from JSON (upstream's `metadata.cost`) as decimal text. JSON.parse keeps the shortest numeral that
 * reads back as the same double, which is the wire text for every value of up to 15 significant digits; exponent
 * forms (1e-7, 1e21) are expanded. Null for anything that is not a finite number.
 */
export function decimalFromJsonNumber(n: number): DecimalText | null {
	if (!Number.isFinite(n)) return null;
	const s = String(n);
	if (!/e/i.test(s)) return s === '-0' ? '0' : s;
	const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/i.exec(s);
	if (!m) return null;
	const [, sign, int, frac = '', expText] = m;
	const digits = int + frac;
	const point = int.length + Number(expText);
	const body =
		point <= 0 ? `0.${'0'.repeat(-point)}${digits}` : point >= digits.length ? digits + '0'.repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`;
	const clean = body.includes('.') ? body.replace(/0+$/, '').replace(/\.$/, '') : body;
	return sign + clean.replace(/^0+(?=\d)/, '');
}

/** "1234.5" → "1,234.50" for display (money: scale 2). */
export function formatDecimal(text: DecimalText, scale = 2): string {
	const r = roundDecimal(text, scale);
	const negative = r.startsWith('-');
	const [int, frac] = (negative ? r.slice(1) : r).split('.');
	const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
	return `${negative && !isZeroDecimal(r) ? '-' : ''}${grouped}${frac ? `.${frac}` : ''}`;
}

/** `text` ÷ a positive integer, rounded half away from zero to `scale` places (an average per call). */
export function divideDecimal(text: DecimalText, divisor: number, scale: number): DecimalText {
	if (!Number.isInteger(divisor) || divisor <= 0) throw new DecimalError(`cannot divide by ${divisor}`);
	const units = toUnits(roundDecimal(text, Math.max(scale, (text.split('.')[1] ?? '').length)), Math.max(scale, (text.split('.')[1] ?? '').length));
	const extra = 10n ** BigInt(Math.max(0, (text.split('.')[1] ?? '').length - scale));
	const d = BigInt(divisor) * extra;
	const abs = units < 0n ? -units : units;
	const q = (abs * 2n + d) / (2n * d);
	return fromUnits(units < 0n ? -q : q, scale);
}

/** a + b − c … as exact text at `scale`. */
export function sumSigned(terms: readonly [1 | -1, DecimalText][], scale: number): DecimalText {
	return fromUnits(
		terms.reduce((s, [sign, t]) => s + BigInt(sign) * toUnits(t, scale), 0n),
		scale
	);
}
