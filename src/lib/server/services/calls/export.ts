import { and, desc, lt, lte, or } from 'drizzle-orm';
import { csvHeader, csvRows } from '../../../csv';
import { formatDateTimeInZone, formatLabel } from '../../../format';
import { conversation, elevenlabsAgent } from '../../db/schema/index';
import { agentJoin, callFilter, callListColumns, resolveCallRange, type CallRangeInput, type CallsCtx } from './index';

// "Export CSV" of the dashboard: every call of the current filter (range, search, status), not the visible page.
// Streamed: keyset pages of EXPORT_CHUNK_ROWS rows are read only when the consumer pulls, so a slow download holds
// one chunk in memory and no database connection between chunks, however many calls the filter matches.

export const EXPORT_CHUNK_ROWS = 5_000;

export interface ExportCallsInput extends CallRangeInput {
	search?: string;
	status?: string;
}

export interface CallsExport {
	/** `<tenant slug>-calls[-<status>]-<from>_<to>.csv` */
	fileName: string;
	/** UTF-8 CSV: a header, then one line per call, newest first. */
	stream: ReadableStream<Uint8Array>;
}

type ExportRow = {
	conversationId: string;
	startedAt: Date;
	direction: string | null;
	externalNumber: string | null;
	agentId: string;
	agentName: string | null;
	durationSecs: number;
	status: string;
	callSuccessful: string | null;
	title: string | null;
	summary: string | null;
};

const safeName = (s: string) => s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';

/**
 * The tenant's calls that match the dashboard's filter as a CSV stream. The range is resolved (and refused with
 * BAD_INPUT) before anything is streamed, so a bad filter is an error answer rather than a broken download.
 */
export function exportCalls({ ctx, input, chunkRows = EXPORT_CHUNK_ROWS }: { ctx: CallsCtx; input: ExportCallsInput; chunkRows?: number }): CallsExport {
	const tz = ctx.tenant.timezone;
	const range = resolveCallRange(input, tz);
	const where = callFilter(ctx.tenant.id, range, input);
	const header = ['Conversation ID', `Started (${tz})`, 'Direction', 'Caller', 'Agent', 'Agent ID', 'Duration (s)', 'Status', 'Outcome', 'Title', 'Summary'];
	const toCells = (r: ExportRow) => [
		r.conversationId,
		formatDateTimeInZone(r.startedAt, tz),
		r.direction ? formatLabel(r.direction) : '',
		r.externalNumber,
		r.agentName,
		r.agentId,
		r.durationSecs,
		formatLabel(r.status),
		r.callSuccessful ? formatLabel(r.callSuccessful) : '',
		r.title,
		r.summary
	];

	// Keyset paging on the list's order (started_at desc, conversation_id desc): each chunk starts strictly after
	// the last row sent, so a row is neither skipped nor repeated and no OFFSET grows with the export.
	let after: { startedAt: Date; conversationId: string } | null = null;
	let done = false;
	async function readChunk(): Promise<ExportRow[]> {
		const cursor = after
			? and(
					lte(conversation.startedAt, after.startedAt),
					or(lt(conversation.startedAt, after.startedAt), lt(conversation.conversationId, after.conversationId))
				)
			: undefined;
		const rows = await ctx.db
			.select(callListColumns)
			.from(conversation)
			.leftJoin(elevenlabsAgent, agentJoin)
			.where(and(where, cursor))
			.orderBy(desc(conversation.startedAt), desc(conversation.conversationId))
			.limit(chunkRows);
		// startedAt and status are non-null by callFilter.
		return rows as ExportRow[];
	}

	const encoder = new TextEncoder();
	const stream = new ReadableStream<Uint8Array>(
		{
			start(controller) {
				controller.enqueue(encoder.encode(csvHeader(header)));
			},
			// Called only when the consumer wants more (highWaterMark 0): the download's pace sets the reads' pace.
			async pull(controller) {
				if (done) return;
				const rows = await readChunk();
				if (rows.length > 0) {
					const last = rows[rows.length - 1];
					after = { startedAt: last.startedAt, conversationId: last.conversationId };
					controller.enqueue(encoder.encode(csvRows(rows.map(toCells))));
				}
				if (rows.length < chunkRows) {
					done = true;
					controller.close();
				}
			},
			cancel() {
				done = true;
			}
		},
		{ highWaterMark: 0 }
	);

	const what = input.status ? `calls-${safeName(input.status)}` : 'calls';
	return { fileName: `${safeName(ctx.tenant.slug)}-${what}-${range.from}_${range.to}.csv`, stream };
}
