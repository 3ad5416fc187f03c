import { LiteralError } from './literal';

// JSONEachRow text for an INSERT whose rows carry exact decimals. ClickHouse 18.16 parses a Decimal column in
// JSONEachRow only from a bare numeral ("cost":12.5); a quoted "12.5" is refused, and a JS number would have
// passed through a float. So rows keep decimals as strings and this writer emits them unquoted, after checking each
// is a plain numeral (digits, at most one point, an optional leading minus), so nothing else can be smuggled in.

const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * A decimal column value from a row. A finite number is accepted only for facts written before money became exact
 * (conversation.emitted_fact of older versions, whose retraction must cancel them): it is rendered with toFixed(6),
 * the scale the Float64 column was converted to.
 */
function decimalText(column: string, value: unknown): string {
	if (typeof value === 'string' && PLAIN_DECIMAL.test(value)) return value;
	if (typeof value === 'number' && Number.isFinite(value)) return value.toFixed(6);
	throw new LiteralError(`column ${column}: not decimal text: ${JSON.stringify(value)}`);
}

/** One JSON object per line; `decimalColumns` are written as bare numerals. */
export function encodeJsonEachRow(rows: readonly Record<string, unknown>[], decimalColumns: readonly string[]): string {
	const decimals = new Set(decimalColumns);
	let out = '';
	for (const row of rows) {
		const parts: string[] = [];
		for (const [key, value] of Object.entries(row)) {
			if (value === undefined) continue;
			parts.push(`${JSON.stringify(key)}:${decimals.has(key) ? decimalText(key, value) : JSON.stringify(value)}`);
		}
		out += `{${parts.join(',')}}\n`;
	}
	return out;
}
