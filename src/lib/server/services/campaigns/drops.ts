import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import Papa from 'papaparse';
import { can } from '../../auth/permissions';
import { afterCommit, inTransaction, type Db } from '../../db/client';
import { mailDrop, recipientImportError, RECIPIENT_FIELDS, type ColumnMapping } from '../../db/schema/index';
import { DomainError } from '../../errors';
import { recordAudit } from '../audit/index';
import type { TenantServiceCtx } from '../context';
import { fetchTenantOwnedOrThrow } from '../scoped';
import { dropSummaryColumns, fetchCampaignOrThrow, type DropSummary } from './index';
import { guessColumnMapping, previewCsvFile, previewCsvText, Utf8Check, type CsvDelimiter } from './csv-import';
import { uploadPath } from './recipient-import';

// Mail drops: upload (streamed to a file), column mapping with a preview, start, cancel, and the rejected rows.

function assertCanWrite(ctx: TenantServiceCtx) {
	if (!can(ctx.role, 'campaigns:write')) throw new DomainError('FORBIDDEN', 'Your role does not allow this');
}

export function fetchDropOrThrow(db: TenantServiceCtx['db'], tenantId: string, dropId: string, opts: { forUpdate?: boolean } = {}) {
	return fetchTenantOwnedOrThrow(db, mailDrop, tenantId, eq(mailDrop.id, dropId), 'Mail drop', opts);
}

class ByteLimit extends Transform {
	bytes = 0;
	constructor(private readonly max: number) {
		super();
	}
	override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
		this.bytes += chunk.length;
		if (this.bytes > this.max) return cb(new DomainError('PAYLOAD_TOO_LARGE', `The file is larger than ${Math.floor(this.max / 1_048_576)} MB`));
		cb(null, chunk);
	}
}

export interface UploadDropInput {
	campaignId: string;
	fileName: string;
	sentOn: string;
	name?: string;
	body: Readable | ReadableStream<Uint8Array>;
	storageDir: string;
	maxBytes: number;
}

export interface DropDetail extends DropSummary {
	campaignId: string;
	delimiter: CsvDelimiter | null;
	headers: string[];
	columnMapping: ColumnMapping | null;
	/** The column mapping guessed from the headers (shown while the drop awaits its mapping). */
	guessedMapping: ColumnMapping;
	/** The first rows of the file, while it is still stored. */
	preview: string[][];
}

/**
 * Stores an uploaded CSV file as a new drop awaiting its column mapping. The body is streamed to disk (never held
 * whole) through a UTF-8 check: a file that is not UTF-8 is refused and nothing is kept.
 */
export async function uploadMailDrop({ ctx, input }: { ctx: TenantServiceCtx; input: UploadDropInput }): Promise<DropDetail> {
	assertCanWrite(ctx);
	const c = await fetchCampaignOrThrow(ctx.db, ctx.tenant.id, input.campaignId);
	const dropId = randomUUID();
	const storageKey = `${ctx.tenant.id}/${dropId}.csv`;
	const path = uploadPath(input.storageDir, storageKey);
	const partial = `${path}.part`;
	await mkdir(dirname(path), { recursive: true });
	const check = new Utf8Check(64 * 1024);
	const limit = new ByteLimit(input.maxBytes);
	const body = input.body instanceof Readable ? input.body : Readable.fromWeb(input.body as import('node:stream/web').ReadableStream<Uint8Array>);
	try {
		await pipeline(body, limit, check, createWriteStream(partial));
	} catch (err) {
		await unlink(partial).catch(() => {});
		if (err instanceof DomainError) throw err;
		throw new DomainError('BAD_INPUT', 'The upload was interrupted; try again');
	}
	let preview;
	try {
		if (check.bytes === 0) throw new DomainError('BAD_INPUT', 'The file is empty');
		preview = previewCsvText(check.text);
	} catch (err) {
		await unlink(partial).catch(() => {});
		throw err;
	}
	await rename(partial, path);
	const fileName = input.fileName.trim().slice(0, 200) || 'recipients.csv';
	const guessed = guessColumnMapping(preview.headers);
	try {
		await inTransaction(ctx.db, async (tx) => {
			await tx.insert(mailDrop).values({
				id: dropId,
				tenantId: ctx.tenant.id,
				campaignId: c.id,
				name: input.name?.trim() || fileName.replace(/\.(csv|txt|tsv)$/i, ''),
				sentOn: input.sentOn,
				status: 'awaiting_mapping',
				fileName,
				fileBytes: check.bytes,
				storageKey,
				delimiter: preview.delimiter,
				headers: preview.headers,
				columnMapping: guessed,
				createdByUserId: ctx.actor.kind === 'user' ? ctx.actor.userId : null
			});
			await recordAudit(tx, ctx, {
				tenantId: ctx.tenant.id,
				action: 'mail_drop.upload',
				targetType: 'mail_drop',
				targetId: dropId,
				after: { campaignId: c.id, fileName, bytes: check.bytes, sentOn: input.sentOn }
			});
		});
	} catch (err) {
		await unlink(path).catch(() => {});
		throw err;
	}
	return getMailDrop({ ctx, input: { dropId }, storageDir: input.storageDir });
}

export async function getMailDrop({ ctx, input, storageDir }: { ctx: TenantServiceCtx; input: { dropId: string }; storageDir: string }): Promise<DropDetail> {
	const d = await fetchDropOrThrow(ctx.db, ctx.tenant.id, input.dropId);
	const [summary] = await ctx.db.select(dropSummaryColumns).from(mailDrop).where(eq(mailDrop.id, d.id));
	let preview: string[][] = [];
	if (d.storageKey && d.status === 'awaiting_mapping') {
		preview = await previewCsvFile(uploadPath(storageDir, d.storageKey)).then(
			(p) => p.rows,
			() => []
		);
	}
	const headers = d.headers ?? [];
	return {
		...summary,
		campaignId: d.campaignId,
		delimiter: (d.delimiter as CsvDelimiter | null) ?? null,
		headers,
		columnMapping: d.columnMapping ?? null,
		guessedMapping: guessColumnMapping(headers),
		preview
	};
}

export interface StartImportInput {
	dropId: string;
	mapping: ColumnMapping;
	sentOn?: string;
	name?: string;
}

/**
 * Confirms the column mapping and queues the import. `enqueue` (the adapter's job sender) runs once the
 * transaction has committed; if it cannot, the worker's periodic sweep picks the queued drop up.
 */
export async function startMailDropImport({
	ctx,
	input,
	enqueue
}: {
	ctx: TenantServiceCtx;
	input: StartImportInput;
	enqueue?: (db: Db, dropId: string) => Promise<unknown>;
}): Promise<DropSummary> {
	assertCanWrite(ctx);
	const m = input.mapping;
	if (m.phone === undefined) throw new DomainError('BAD_INPUT', 'Choose the column that holds the phone number', { field: 'phone' });
	return inTransaction(ctx.db, async (tx) => {
		const d = await fetchDropOrThrow(tx, ctx.tenant.id, input.dropId, { forUpdate: true });
		if (d.status !== 'awaiting_mapping') throw new DomainError('CONFLICT', `This import has already been ${d.status === 'queued' || d.status === 'importing' ? 'started' : d.status}`);
		const width = d.headers?.length ?? 0;
		const seen = new Set<number>();
		const mapping: ColumnMapping = {};
		for (const f of RECIPIENT_FIELDS) {
			const i = m[f];
			if (i === undefined) continue;
			if (!Number.isInteger(i) || i < 0 || i >= width) throw new DomainError('BAD_INPUT', `The file has no column ${i} (for ${f})`, { field: f });
			if (seen.has(i)) throw new DomainError('BAD_INPUT', `Column "${d.headers?.[i]}" is mapped to two fields`, { field: f });
			seen.add(i);
			mapping[f] = i;
		}
		const [row] = await tx
			.update(mailDrop)
			.set({
				status: 'queued',
				columnMapping: mapping,
				queuedAt: sql`now()`,
				...(input.sentOn ? { sentOn: input.sentOn } : {}),
				...(input.name?.trim() ? { name: input.name.trim() } : {})
			})
			.where(eq(mailDrop.id, d.id))
			.returning(dropSummaryColumns);
		await recordAudit(tx, ctx, {
			tenantId: ctx.tenant.id,
			action: 'mail_drop.import_start',
			targetType: 'mail_drop',
			targetId: d.id,
			before: { status: d.status },
			after: { status: 'queued', mapping: Object.fromEntries(Object.entries(mapping).map(([f, i]) => [f, d.headers?.[i as number] ?? i])), sentOn: row.sentOn }
		});
		if (enqueue) afterCommit(tx, (db) => enqueue(db, d.id));
		return row;
	});
}

/**
 * Cancels an import. Before it runs, the drop is cancelled at once; while it runs, the job sees the request
 * between batches and deletes what it wrote. A finished import cannot be cancelled.
 */
export async function cancelMailDropImport({ ctx, input, storageDir }: { ctx: TenantServiceCtx; input: { dropId: string }; storageDir: string }): Promise<DropSummary> {
	assertCanWrite(ctx);
	let removeFile: string | null = null;
	const row = await inTransaction(ctx.db, async (tx) => {
		const d = await fetchDropOrThrow(tx, ctx.tenant.id, input.dropId, { forUpdate: true });
		if (d.status === 'completed' || d.status === 'failed' || d.status === 'cancelled') throw new DomainError('CONFLICT', `This import has already ${d.status === 'completed' ? 'completed' : d.status === 'failed' ? 'failed' : 'been cancelled'}`);
		const immediate = d.status === 'awaiting_mapping' || d.status === 'queued';
		if (immediate) removeFile = d.storageKey;
		const [r] = await tx
			.update(mailDrop)
			.set(immediate ? { status: 'cancelled', cancelRequestedAt: sql`now()`, finishedAt: sql`now()`, storageKey: null } : { cancelRequestedAt: sql`now()` })
			.where(eq(mailDrop.id, d.id))
			.returning(dropSummaryColumns);
		await recordAudit(tx, ctx, {
			tenantId: ctx.tenant.id,
			action: 'mail_drop.cancel',
			targetType: 'mail_drop',
			targetId: d.id,
			before: { status: d.status },
			after: { status: r.status, cancelRequested: true }
		});
		return r;
	});
	if (removeFile) await unlink(uploadPath(storageDir, removeFile)).catch(() => {});
	return row;
}

/** The rejected rows of a drop as CSV (line, reason, then the file's own columns), streamed in pages. */
export async function rejectedRowsCsv({ ctx, input }: { ctx: TenantServiceCtx; input: { dropId: string } }): Promise<{ fileName: string; chunks: AsyncIterable<string> }> {
	const d = await fetchDropOrThrow(ctx.db, ctx.tenant.id, input.dropId);
	const headers = d.headers ?? [];
	const db = ctx.db;
	async function* chunks() {
		yield '\uFEFF' + Papa.unparse({ fields: ['line', 'reason', ...headers], data: [] }, { newline: '\r\n' }) + '\r\n';
		let after = 0;
		for (;;) {
			const rows = await db
				.select({ line: recipientImportError.line, reason: recipientImportError.reason, fields: recipientImportError.fields })
				.from(recipientImportError)
				.where(and(eq(recipientImportError.tenantId, d.tenantId), eq(recipientImportError.dropId, d.id), gt(recipientImportError.line, after)))
				.orderBy(asc(recipientImportError.line))
				.limit(2000);
			if (rows.length === 0) return;
			yield Papa.unparse(rows.map((r) => [String(r.line), r.reason, ...r.fields]), { newline: '\r\n', header: false, escapeFormulae: /^[=@\t\r]/ }) + '\r\n';
			after = rows[rows.length - 1].line;
		}
	}
	return { fileName: `${d.name.replace(/[^\w.-]+/g, '_')}-rejected-rows.csv`, chunks: chunks() };
}
