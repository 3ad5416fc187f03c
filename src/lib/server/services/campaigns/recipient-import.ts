import { randomUUID } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import type postgres from 'postgres';
import { and, eq, sql } from 'drizzle-orm';
import { inTransaction, type Db, type DbOrTx } from '../../db/client';
import { mailDrop, type ColumnMapping, type RecipientField } from '../../db/schema/index';
import { DomainError } from '../../errors';
import { recordAudit } from '../audit/index';
import type { ServiceCtx } from '../context';
import { NotUtf8Error, readCsvRecords, type CsvDelimiter } from './csv-import';
import { normalisePhone } from './phone';
import { generateTrackingCodes } from './tracking-code';

// The import job's engine: one stored CSV file → one mail drop's recipients.
//
// Writes go straight into `recipient` / `recipient_drop` while the drop is `importing`; nothing counts until the
// drop turns `completed` in the final transaction (schema/campaigns.ts: a recipient is live only when the drop that
// created it is completed). A cancel or a failure deletes every row the drop wrote, and a retried job (a worker
// that died mid-file) does the same before starting over, so an import is all or nothing.
//
// Duplicates merge by construction: recipient has unique (campaign, phone) and (campaign, customer id), each batch
// inserts with ON CONFLICT DO NOTHING, and every row is linked to whichever recipient holds its phone (first) or its
// customer id. Imports into one campaign are serialised by an advisory lock, so a cancel never deletes recipients
// another running import has linked to.

export const IMPORT_BATCH_ROWS = 5000;
const IMPORT_LOCK_CLASS = 7263611;
const MAX_FIELD_CHARS = 500;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface ImportOutcome {
	status: 'completed' | 'cancelled' | 'failed' | 'skipped';
	rowsRead: number;
	rowsImported: number;
	rowsMerged: number;
	rowsRejected: number;
	recipientCount: number;
	bytesRead: number;
	errorMessage?: string;
}

interface GoodRow {
	line: number;
	phone: string | null;
	firstName: string | null;
	lastName: string | null;
	email: string | null;
	address: string | null;
	postcode: string | null;
	customerId: string | null;
}

interface BadRow {
	line: number;
	reason: string;
	fields: string[];
}

export type RowVerdict = { ok: true; row: GoodRow } | { ok: false; bad: BadRow };

/** Validates and normalises one CSV record against the column mapping. Pure; shared with the benchmark's reference. */
export function validateRecipientRecord(line: number, fields: string[], mapping: ColumnMapping, defaultCountry: string): RowVerdict {
	const get = (f: RecipientField): string | null => {
		const i = mapping[f];
		if (i === undefined) return null;
		const v = (fields[i] ?? '').trim();
		return v === '' ? null : v;
	};
	const bad = (reason: string): RowVerdict => ({ ok: false, bad: { line, reason, fields } });
	const phoneRaw = get('phone');
	if (phoneRaw === null) return bad('phone number is missing');
	const phone = normalisePhone(phoneRaw, defaultCountry);
	if (!phone.ok) return bad(phone.reason);
	const row: GoodRow = {
		line,
		phone: phone.e164,
		firstName: get('firstName'),
		lastName: get('lastName'),
		email: get('email'),
		address: get('address'),
		postcode: get('postcode'),
		customerId: get('customerId')
	};
	for (const [k, v] of Object.entries(row)) if (typeof v === 'string' && v.length > MAX_FIELD_CHARS) return bad(`${k} is longer than ${MAX_FIELD_CHARS} characters`);
	if (row.email !== null && !EMAIL_RE.test(row.email)) return bad(`"${row.email.slice(0, 60)}" is not an email address`);
	return { ok: true, row };
}

function pgClient(db: Db): postgres.Sql {
	// drizzle's postgres-js session keeps the postgres.js client; the import writes through it as text (db/client).
	return (db as unknown as { session: { client: postgres.Sql } }).session.client;
}

// One statement per batch: insert the new recipients, link every row to its recipient (new, merged within the
// batch, or already in the campaign), and report rows that could not be placed (a tracking-code collision).
const BATCH_SQL = `
with v as (
	select * from unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
		as v(id, line, code, phone, first_name, last_name, email, address, postcode, customer_id)
),
ins as (
	insert into recipient (id, tenant_id, campaign_id, created_drop_id, tracking_code, phone_e164, first_name, last_name, email, address, postcode, customer_id)
	select id, $11::uuid, $12::uuid, $13::uuid, code, phone, first_name, last_name, email, address, postcode, customer_id from v order by line
	on conflict do nothing
	returning id, phone_e164, customer_id
),
resolved as (
	select v.line, coalesce(
		i1.id, i2.id, i3.id,
		(select r.id from recipient r where r.campaign_id = $12::uuid and r.phone_e164 = v.phone),
		(select r.id from recipient r where r.campaign_id = $12::uuid and r.customer_id = v.customer_id)
	) as rid
	from v
	left join ins i1 on i1.id = v.id
	left join ins i2 on i1.id is null and i2.phone_e164 = v.phone
	left join ins i3 on i1.id is null and i2.id is null and i3.customer_id = v.customer_id
),
links as (
	insert into recipient_drop (tenant_id, drop_id, recipient_id, line)
	select $11::uuid, $13::uuid, rid, min(line) from resolved where rid is not null group by rid
	on conflict do nothing
	returning 1
)
select (select count(*) from ins)::int as inserted,
	(select count(*) from links)::int as linked,
	coalesce((select array_agg(line) from resolved where rid is null), '{}')::int[] as unresolved`;

const ERRORS_SQL = `
insert into recipient_import_error (tenant_id, drop_id, line, reason, fields)
select $1::uuid, $2::uuid, line, reason, fields::jsonb from unnest($3::int[], $4::text[], $5::text[]) as e(line, reason, fields)
on conflict do nothing`;

type DropRow = typeof mailDrop.$inferSelect;

class ImportCancelled extends Error {}

async function writeBatch(client: postgres.Sql, drop: DropRow, rows: GoodRow[]): Promise<{ inserted: number; merged: number }> {
	let pending = rows;
	let inserted = 0;
	let merged = 0;
	// A row left unplaced lost a tracking-code collision (50-bit codes: practically never); retry it with a new code.
	for (let attempt = 0; pending.length > 0; attempt++) {
		if (attempt === 5) throw new Error('could not allocate unique tracking codes after 5 attempts');
		const codes = generateTrackingCodes(pending.length);
		const cols: unknown[][] = [[], [], [], [], [], [], [], [], [], []];
		pending.forEach((r, i) => {
			cols[0].push(randomUUID());
			cols[1].push(r.line);
			cols[2].push(codes[i]);
			cols[3].push(r.phone);
			cols[4].push(r.firstName);
			cols[5].push(r.lastName);
			cols[6].push(r.email);
			cols[7].push(r.address);
			cols[8].push(r.postcode);
			cols[9].push(r.customerId);
		});
		const [res] = await client.unsafe<{ inserted: number; linked: number; unresolved: number[] }[]>(BATCH_SQL, [
			...cols,
			drop.tenantId,
			drop.campaignId,
			drop.id
		] as never[]);
		const unresolved = new Set(res.unresolved);
		inserted += res.inserted;
		merged += pending.length - unresolved.size - res.inserted;
		pending = pending.filter((r) => unresolved.has(r.line));
	}
	return { inserted, merged };
}

async function writeErrors(client: postgres.Sql, drop: DropRow, bad: BadRow[]) {
	if (bad.length === 0) return;
	await client.unsafe(ERRORS_SQL, [drop.tenantId, drop.id, bad.map((b) => b.line), bad.map((b) => b.reason), bad.map((b) => JSON.stringify(b.fields))] as never[]);
}

/**
 * The recipients a drop created, found through its links: each batch writes a recipient and its link in one
 * statement, so every recipient an import created is linked to that drop (no index on created_drop_id needed).
 */
async function deleteRecipientsCreatedBy(tx: DbOrTx, dropId: string) {
	await tx.execute(sql`delete from recipient r using recipient_drop rd where rd.drop_id = ${dropId} and r.id = rd.recipient_id and r.created_drop_id = ${dropId}`);
}

/** Deletes everything a drop's import wrote (recipients it created, its links, its error rows). */
async function deleteImportedRows(db: Db, dropId: string) {
	await inTransaction(db, async (tx) => {
		await deleteRecipientsCreatedBy(tx, dropId);
		await tx.execute(sql`delete from recipient_drop where drop_id = ${dropId}`);
		await tx.execute(sql`delete from recipient_import_error where drop_id = ${dropId}`);
	});
}

export function uploadPath(storageDir: string, storageKey: string): string {
	return resolve(storageDir, storageKey);
}

/**
 * Runs the import of a queued (or interrupted) drop to its end: completed, cancelled or failed. Idempotent: a
 * drop in any other state is skipped, and a retry starts over from a clean slate.
 */
export async function runRecipientImport({
	ctx,
	input
}: {
	ctx: ServiceCtx & { db: Db };
	input: { dropId: string; storageDir: string; onProgress?: (p: ImportOutcome) => void };
}): Promise<ImportOutcome> {
	const db = ctx.db;
	const client = pgClient(db);
	const [found] = await db.select().from(mailDrop).where(eq(mailDrop.id, input.dropId));
	const empty: ImportOutcome = { status: 'skipped', rowsRead: 0, rowsImported: 0, rowsMerged: 0, rowsRejected: 0, recipientCount: 0, bytesRead: 0 };
	if (!found || (found.status !== 'queued' && found.status !== 'importing')) return empty;

	// Serialise imports per campaign on a session lock held on a reserved connection, which also carries the
	// batches. JIT off on it: compiling each batch statement took longer than running it (1.5 s of 2 s per batch).
	const conn = await client.reserve();
	try {
		await conn`select pg_advisory_lock(${IMPORT_LOCK_CLASS}, hashtext(${found.campaignId}))`;
		await conn`set jit = off`;
		try {
			return await importLocked(ctx, conn, input);
		} finally {
			await conn`select pg_advisory_unlock(${IMPORT_LOCK_CLASS}, hashtext(${found.campaignId}))`.catch(() => {});
			await conn`reset jit`.catch(() => {});
		}
	} finally {
		conn.release();
	}
}

async function importLocked(
	ctx: ServiceCtx & { db: Db },
	client: postgres.Sql,
	input: { dropId: string; storageDir: string; onProgress?: (p: ImportOutcome) => void }
): Promise<ImportOutcome> {
	const db = ctx.db;
	const [drop] = await db.select().from(mailDrop).where(eq(mailDrop.id, input.dropId));
	const progress: ImportOutcome = { status: 'skipped', rowsRead: 0, rowsImported: 0, rowsMerged: 0, rowsRejected: 0, recipientCount: 0, bytesRead: 0 };
	if (!drop || (drop.status !== 'queued' && drop.status !== 'importing')) return progress;
	if (drop.cancelRequestedAt) return finishUnsuccessfully(ctx, input.storageDir, drop, progress, 'cancelled');
	const mapping = drop.columnMapping;
	if (!mapping || mapping.phone === undefined || !drop.storageKey || !drop.delimiter) {
		return finishUnsuccessfully(ctx, input.storageDir, drop, progress, 'failed', 'The import has no column mapping or file');
	}
	// A previous attempt may have died half way: start from nothing.
	await deleteImportedRows(db, drop.id);
	await db
		.update(mailDrop)
		.set({ status: 'importing', startedAt: sql`now()`, bytesRead: 0, rowsRead: 0, rowsImported: 0, rowsMerged: 0, rowsRejected: 0, errorMessage: null })
		.where(eq(mailDrop.id, drop.id));

	const [{ country }] = await client<{ country: string }[]>`select default_country as country from tenant where id = ${drop.tenantId}`;
	const reader = readCsvRecords(uploadPath(input.storageDir, drop.storageKey), drop.delimiter as CsvDelimiter);
	let good: GoodRow[] = [];
	let bad: BadRow[] = [];
	let inflight: Promise<void> = Promise.resolve();

	// Writes one batch while parsing continues, then publishes progress and checks for a cancel request.
	const flush = (rows: GoodRow[], errors: BadRow[], rowsRead: number) => {
		const prev = inflight;
		inflight = (async () => {
			await prev;
			const [w] = await Promise.all([writeBatch(client, drop, rows), writeErrors(client, drop, errors)]);
			progress.rowsImported += w.inserted;
			progress.rowsMerged += w.merged;
			progress.rowsRejected += errors.length;
			progress.rowsRead = rowsRead;
			progress.bytesRead = reader.bytesRead();
			const [s] = await client<{ cancel: boolean }[]>`
				update mail_drop set bytes_read = ${progress.bytesRead}, rows_read = ${progress.rowsRead}, rows_imported = ${progress.rowsImported},
					rows_merged = ${progress.rowsMerged}, rows_rejected = ${progress.rowsRejected}
				where id = ${drop.id} returning cancel_requested_at is not null as cancel`;
			input.onProgress?.({ ...progress, status: 'skipped' });
			if (s?.cancel) throw new ImportCancelled();
		})();
		// The error surfaces at the next await of inflight; keep it from being reported as unhandled meanwhile.
		inflight.catch(() => {});
		return inflight;
	};

	try {
		let rowsRead = 0;
		let pendingRows = 0;
		for await (const rec of reader.records) {
			rowsRead++;
			const v = validateRecipientRecord(rec.line, rec.fields, mapping, country);
			if (v.ok) good.push(v.row);
			else bad.push(v.bad);
			if (++pendingRows >= IMPORT_BATCH_ROWS) {
				// At most one batch in flight: wait for the previous one before handing over the next.
				await inflight;
				flush(good, bad, rowsRead);
				good = [];
				bad = [];
				pendingRows = 0;
			}
		}
		await inflight;
		await flush(good, bad, rowsRead);
		if (rowsRead === 0) return await finishUnsuccessfully(ctx, input.storageDir, drop, progress, 'failed', 'The file has a header but no rows');
		if (progress.rowsImported + progress.rowsMerged === 0) {
			return await finishUnsuccessfully(ctx, input.storageDir, drop, progress, 'failed', `None of the ${rowsRead} rows could be imported; download the rejected rows to see why`, { keepErrors: true });
		}
		return await complete(ctx, input.storageDir, drop, progress);
	} catch (err) {
		await inflight.catch(() => {});
		if (err instanceof ImportCancelled) return finishUnsuccessfully(ctx, input.storageDir, drop, progress, 'cancelled');
		const message = err instanceof DomainError ? err.message : 'The import failed unexpectedly; try again';
		if (!(err instanceof NotUtf8Error) && !(err instanceof DomainError)) {
			// Broken invariant or infrastructure: leave a clean drop, then let the job runner see the error.
			await finishUnsuccessfully(ctx, input.storageDir, drop, progress, 'failed', message);
			throw err;
		}
		return finishUnsuccessfully(ctx, input.storageDir, drop, progress, 'failed', message);
	}
}

async function complete(ctx: ServiceCtx & { db: Db }, storageDir: string, drop: DropRow, progress: ImportOutcome): Promise<ImportOutcome> {
	const outcome = await inTransaction(ctx.db, async (tx) => {
		const [{ n }] = await tx.execute<{ n: number }>(sql`select count(*)::int as n from recipient_drop where drop_id = ${drop.id}`);
		const [row] = await tx
			.update(mailDrop)
			.set({ status: 'completed', recipientCount: n, finishedAt: sql`now()`, storageKey: null })
			.where(and(eq(mailDrop.id, drop.id), eq(mailDrop.status, 'importing'), sql`${mailDrop.cancelRequestedAt} is null`))
			.returning({ id: mailDrop.id });
		// A cancel that arrived after the last batch still wins: nothing of the drop becomes visible.
		if (!row) return null;
		const out: ImportOutcome = { ...progress, status: 'completed', recipientCount: n };
		await recordAudit(tx, ctx, {
			tenantId: drop.tenantId,
			action: 'mail_drop.import_complete',
			targetType: 'mail_drop',
			targetId: drop.id,
			before: null,
			after: { campaignId: drop.campaignId, rowsRead: out.rowsRead, rowsImported: out.rowsImported, rowsMerged: out.rowsMerged, rowsRejected: out.rowsRejected, recipients: n }
		});
		return out;
	});
	if (!outcome) return finishUnsuccessfully(ctx, storageDir, drop, progress, 'cancelled');
	await removeStoredFile(drop, storageDir);
	return outcome;
}

async function removeStoredFile(drop: DropRow, storageDir: string) {
	if (drop.storageKey) await unlink(uploadPath(storageDir, drop.storageKey)).catch(() => {});
}

async function finishUnsuccessfully(
	ctx: ServiceCtx & { db: Db },
	storageDir: string,
	drop: DropRow,
	progress: ImportOutcome,
	status: 'cancelled' | 'failed',
	errorMessage?: string,
	opts: { keepErrors?: boolean } = {}
): Promise<ImportOutcome> {
	await inTransaction(ctx.db, async (tx) => {
		await deleteRecipientsCreatedBy(tx, drop.id);
		await tx.execute(sql`delete from recipient_drop where drop_id = ${drop.id}`);
		if (!opts.keepErrors) await tx.execute(sql`delete from recipient_import_error where drop_id = ${drop.id}`);
		await tx
			.update(mailDrop)
			.set({ status, errorMessage: errorMessage ?? null, finishedAt: sql`now()`, recipientCount: 0, rowsImported: 0, rowsMerged: 0, storageKey: null })
			.where(eq(mailDrop.id, drop.id));
		await recordAudit(tx, ctx, {
			tenantId: drop.tenantId,
			action: status === 'cancelled' ? 'mail_drop.import_cancelled' : 'mail_drop.import_failed',
			targetType: 'mail_drop',
			targetId: drop.id,
			before: null,
			after: { campaignId: drop.campaignId, rowsRead: progress.rowsRead, error: errorMessage ?? null }
		});
	});
	await removeStoredFile(drop, storageDir);
	return { ...progress, status, rowsImported: 0, rowsMerged: 0, recipientCount: 0, errorMessage };
}

/** Drops queued over 30 s ago (their job should have started by now): the sweep sends them a job again. */
export async function listDropsAwaitingImportJob(db: Db): Promise<string[]> {
	const rows = await db
		.select({ id: mailDrop.id })
		.from(mailDrop)
		.where(and(eq(mailDrop.status, 'queued'), sql`${mailDrop.queuedAt} < now() - interval '30 seconds'`))
		.limit(100);
	return rows.map((r) => r.id);
}
