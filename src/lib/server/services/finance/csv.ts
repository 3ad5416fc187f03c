import Papa from 'papaparse';
import type { MinutesRow } from './index';
import type { Statement, StatementLine } from './statements';

// Finance CSVs through papaparse, streamed a chunk of rows at a time. Values are exact decimal text; formula-like
// cells are defused by papaparse's escapeFormulae (a leading quote), so a tenant named "=HYPERLINK(...)" stays text.

const CHUNK_ROWS = 500;

export const MINUTES_CSV_HEADER = [
	'tenant',
	'period',
	'line',
	'corrects_period',
	'calls',
	'connected_seconds',
	'billable_minutes',
	'upstream_cost',
	'telephony_cost',
	'price',
	'statement_number'
];

function minutesCells(r: MinutesRow): unknown[] {
	return [r.tenant, r.period, r.line, r.correctsPeriod, r.calls, r.connectedSecs, r.billableMinutes, r.upstreamCost, r.telephonyCost, r.price, r.statementNumber ?? ''];
}

/** A byte stream of CSV text: the header, then rows in chunks (never one string of the whole file). */
export function csvStream(header: string[], rows: Iterable<unknown[]>): ReadableStream<Uint8Array> {
	const encoder = new TextEncoder();
	const it = rows[Symbol.iterator]();
	let first = true;
	return new ReadableStream({
		pull(controller) {
			const chunk: unknown[][] = [];
			while (chunk.length < CHUNK_ROWS) {
				const n = it.next();
				if (n.done) break;
				chunk.push(n.value);
			}
			if (first || chunk.length > 0) {
				const text = Papa.unparse({ fields: header, data: chunk }, { header: first, newline: '\r\n', escapeFormulae: true });
				controller.enqueue(encoder.encode(text + '\r\n'));
				first = false;
			}
			if (chunk.length < CHUNK_ROWS) controller.close();
		}
	});
}

export function minutesCsv(rows: readonly MinutesRow[]): ReadableStream<Uint8Array> {
	return csvStream(MINUTES_CSV_HEADER, rows.map(minutesCells));
}

export const STATEMENT_CSV_HEADER = [
	'statement_number',
	'tenant',
	'period',
	'status',
	'rule_version',
	'line',
	'agent_id',
	'corrects_period',
	'calls',
	'connected_seconds',
	'billable_seconds',
	'chargeable_seconds',
	'upstream_cost',
	'telephony_cost',
	'price'
];

export function statementCsv(s: Statement & { tenantName: string }, lines: readonly StatementLine[]): ReadableStream<Uint8Array> {
	const rows = lines.map((l) => [
		s.number,
		s.tenantName,
		s.period,
		s.status,
		s.ruleVersion,
		l.kind,
		l.agentId ?? '',
		l.correctsPeriod ?? '',
		l.calls,
		l.connectedSecs,
		l.billableSecs,
		l.chargeableSecs,
		l.upstreamCost,
		l.telephonyCost,
		l.price
	]);
	rows.push([s.number, s.tenantName, s.period, s.status, s.ruleVersion, 'total', '', '', '', '', '', '', '', '', s.totalPrice]);
	return csvStream(STATEMENT_CSV_HEADER, rows);
}

export function csvResponse(body: ReadableStream<Uint8Array>, filename: string): Response {
	return new Response(body, {
		headers: {
			'content-type': 'text/csv; charset=utf-8',
			'content-disposition': `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
			'cache-control': 'no-store'
		}
	});
}
