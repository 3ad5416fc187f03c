// Small numeric and printing helpers shared by the benchmarks.

export interface LatencySummary {
	count: number;
	p50: number;
	p90: number;
	p95: number;
	p99: number;
	max: number;
	mean: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
	if (sorted.length === 0) return NaN;
	const rank = Math.ceil((p / 100) * sorted.length);
	return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarise(values: readonly number[]): LatencySummary {
	const s = Float64Array.from(values).sort();
	const arr = Array.from(s);
	return {
		count: arr.length,
		p50: percentile(arr, 50),
		p90: percentile(arr, 90),
		p95: percentile(arr, 95),
		p99: percentile(arr, 99),
		max: arr.length ? arr[arr.length - 1] : NaN,
		mean: arr.length ? arr.reduce((a, b) => a + b, 0) / arr.length : NaN
	};
}

export const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
export const fmtMs = (n: number) => (Number.isFinite(n) ? `${n < 10 ? n.toFixed(1) : Math.round(n)} ms` : '—');
export const fmtPct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(0)}%` : '—');

/** A plain-text table with a header rule; columns sized to their widest cell. */
export function renderTable(header: string[], rows: string[][]): string {
	const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
	const line = (cells: string[]) => cells.map((c, i) => (c ?? '').padEnd(widths[i])).join(' | ').trimEnd();
	return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}
