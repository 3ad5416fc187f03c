import Papa from 'papaparse';

// The one place CSV is written and read (papaparse), so every export and import agrees on these options.
// Cells a spreadsheet would run as a formula (=, +, -, @, tab, CR first) get a leading quote. papaparse's own
// `escapeFormulae: true` pattern (/^[=+\-@\t\r].*$/) misses a cell with a line break after the formula, so ours
// looks at the first character only. Numbers are never escaped (-3 stays a number).
export const FORMULA_START = /^[=+\-@\t\r]/;

export const CSV_WRITE_OPTIONS = {
	delimiter: ',',
	newline: '\r\n',
	quotes: false,
	escapeFormulae: FORMULA_START
} as const satisfies Papa.UnparseConfig;

/** What a cell prints as: dates as ISO instants, objects as JSON, nothing as an empty cell. */
function plainCell(value: unknown): unknown {
	if (value === null || value === undefined) return '';
	if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString();
	if (typeof value === 'object') return JSON.stringify(value);
	return value;
}

const plainRows = (rows: readonly (readonly unknown[])[]) => rows.map((r) => r.map(plainCell));

/** Rows without a header, each ending in CRLF: a chunk of a streamed export. Empty for no rows. */
export function csvRows(rows: readonly (readonly unknown[])[]): string {
	return rows.length === 0 ? '' : Papa.unparse(plainRows(rows), CSV_WRITE_OPTIONS) + CSV_WRITE_OPTIONS.newline;
}

/** The header line of a CSV, ending in CRLF. */
export function csvHeader(header: readonly string[]): string {
	return csvRows([header]);
}

/** A whole CSV document: header, rows, a trailing CRLF. */
export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
	return csvHeader(header) + csvRows(rows);
}

/** A CSV document read back as rows of strings (first row = header), with papaparse's row-level problems. */
export function parseCsv(text: string): { rows: string[][]; errors: Papa.ParseError[] } {
	const result = Papa.parse<string[]>(text, { delimiter: CSV_WRITE_OPTIONS.delimiter, skipEmptyLines: 'greedy' });
	return { rows: result.data, errors: result.errors };
}
