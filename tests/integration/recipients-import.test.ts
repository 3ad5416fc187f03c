import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, count, eq } from 'drizzle-orm';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, mailDrop, recipient, recipientDrop, recipientImportError } from '../../src/lib/server/db/schema/index';
import { getCampaign, listRecipients } from '../../src/lib/server/services/campaigns/index';
import { cancelMailDropImport, getMailDrop, rejectedRowsCsv, startMailDropImport, uploadMailDrop } from '../../src/lib/server/services/campaigns/drops';
import { runRecipientImport } from '../../src/lib/server/services/campaigns/recipient-import';
import { systemActor, userActor, type TenantServiceCtx } from '../../src/lib/server/services/context';
import { createTestCampaign } from '../factories/campaigns';
import { generateRecipientsCsv, type GeneratedCsv } from '../factories/recipients-csv';
import { createTestTenant } from '../factories/tenant';
import { createTestMember } from '../factories/users';
import { connectTestStores } from '../setup/stores';

const stores = connectTestStores();
let dir: string;
beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), 'voxcalls-import-'));
});
afterAll(async () => {
	await stores.close();
	await rm(dir, { recursive: true, force: true });
});

async function marketerCtx(tenantOverrides: Parameters<typeof createTestTenant>[1] = {}): Promise<TenantServiceCtx> {
	const db = stores.db.db;
	const t = await createTestTenant(db, tenantOverrides);
	const m = await createTestMember(db, t.id, 'marketer');
	return { db, actor: userActor(m), tenant: t, role: 'marketer' };
}

async function uploadFile(ctx: TenantServiceCtx, campaignId: string, path: string, sentOn = '2025-03-01') {
	return uploadMailDrop({
		ctx,
		input: { campaignId, fileName: 'recipients.csv', sentOn, body: createReadStream(path), storageDir: dir, maxBytes: 100 * 1_048_576 }
	});
}

const jobCtx = () => ({ db: stores.db.db, actor: systemActor('recipients.import') });

async function importFile(ctx: TenantServiceCtx, campaignId: string, file: GeneratedCsv, sentOn?: string) {
	const drop = await uploadFile(ctx, campaignId, file.path, sentOn);
	const mapping = drop.guessedMapping;
	await startMailDropImport({ ctx, input: { dropId: drop.id, mapping } });
	const outcome = await runRecipientImport({ ctx: jobCtx(), input: { dropId: drop.id, storageDir: dir } });
	return { drop, mapping, outcome };
}

async function rowsOfDrop(dropId: string) {
	const db = stores.db.db;
	const [[links], [created], [errors]] = await Promise.all([
		db.select({ n: count() }).from(recipientDrop).where(eq(recipientDrop.dropId, dropId)),
		db.select({ n: count() }).from(recipient).where(eq(recipient.createdDropId, dropId)),
		db.select({ n: count() }).from(recipientImportError).where(eq(recipientImportError.dropId, dropId))
	]);
	return { links: links.n, created: created.n, errors: errors.n };
}

async function readAll(chunks: AsyncIterable<string>) {
	let s = '';
	for await (const c of chunks) s += c;
	return s;
}

describe('recipient CSV import', () => {
	it('imports every good row of a messy 50k-row file and reports every bad row with its line', async () => {
		const ctx = await marketerCtx();
		const c = await createTestCampaign(ctx.db, ctx.tenant.id);
		const file = await generateRecipientsCsv(join(dir, 'messy-50k.csv'), { rows: 50_000, delimiter: ';', bom: true, crlf: true, messy: true });
		expect(file.badLines.size).toBeGreaterThan(1000);
		expect(file.merged).toBeGreaterThan(1000);

		const { drop, mapping, outcome } = await importFile(ctx, c.id, file);
		// The header guess found every column of the file.
		expect(drop.delimiter).toBe(';');
		expect(drop.headers).toEqual(['Customer ID', 'First name', 'Last name', 'Phone', 'E-mail', 'Address', 'Postcode']);
		expect(mapping).toEqual({ customerId: 0, firstName: 1, lastName: 2, phone: 3, email: 4, address: 5, postcode: 6 });
		expect(drop.preview.length).toBeGreaterThan(0);
		expect(drop.preview[0][3]).toBe('(212) 200-0000');

		expect(outcome.status).toBe('completed');
		expect(outcome.rowsRead).toBe(50_000);
		expect(outcome.rowsRejected).toBe(file.badLines.size);
		expect(outcome.rowsImported).toBe(file.recipients);
		expect(outcome.rowsMerged).toBe(file.merged);
		expect(outcome.recipientCount).toBe(file.recipients);

		const after = await getMailDrop({ ctx, input: { dropId: drop.id }, storageDir: dir });
		expect(after.status).toBe('completed');
		expect(after.bytesRead).toBe(file.bytes);
		expect(after.recipientCount).toBe(file.recipients);
		const detail = await getCampaign({ ctx, input: { campaignId: c.id } });
		expect(detail.recipients).toBe(file.recipients);

		// Every bad row, by its physical line, with a reason naming the problem.
		const errors = await ctx.db
			.select({ line: recipientImportError.line, reason: recipientImportError.reason })
			.from(recipientImportError)
			.where(eq(recipientImportError.dropId, drop.id));
		expect(new Set(errors.map((e) => e.line))).toEqual(new Set(file.badLines.keys()));
		for (const e of errors) expect(e.reason).toContain(file.badLines.get(e.line));

		// The download has the same rows, with the file's own columns after line and reason.
		const csv = await rejectedRowsCsv({ ctx, input: { dropId: drop.id } });
		const parsed = Papa.parse<string[]>((await readAll(csv.chunks)).replace(/^\uFEFF/, ''), { skipEmptyLines: true });
		expect(parsed.data[0]).toEqual(['line', 'reason', 'Customer ID', 'First name', 'Last name', 'Phone', 'E-mail', 'Address', 'Postcode']);
		expect(parsed.data.length - 1).toBe(file.badLines.size);
		const firstBad = Math.min(...file.badLines.keys());
		expect(parsed.data[1][0]).toBe(String(firstBad));

		// Samples stored as written: E.164 phones, quoted delimiters, commas and line breaks intact.
		for (const s of file.samples) {
			const [r] = await ctx.db
				.select()
				.from(recipient)
				.where(and(eq(recipient.campaignId, c.id), eq(recipient.customerId, s.customerId)));
			expect(r, `recipient of line ${s.line}`).toBeDefined();
			expect(r.phoneE164).toBe(s.phoneE164);
			expect(r.lastName).toBe(s.lastName);
			expect(r.address).toBe(s.address);
			expect(r.trackingCode).toMatch(/^[0-9A-HJKMNP-TV-Z]{10}$/);
		}
		const page = await listRecipients({ ctx, input: { campaignId: c.id, search: file.samples[0].customerId, page: 1, pageSize: 10 } });
		expect(page.total).toBe(1);
		// The stored upload is gone once imported.
		expect(await readdir(join(dir, ctx.tenant.id))).toEqual([]);
	});

	it('merges a recipient named again in a later drop, who then counts in both drops', async () => {
		const ctx = await marketerCtx();
		const c = await createTestCampaign(ctx.db, ctx.tenant.id);
		const first = await generateRecipientsCsv(join(dir, 'first.csv'), { rows: 300, messy: false, delimiter: ',', bom: false, crlf: false });
		// Rows 0–299 shifted by 200: 100 people from the first file, 200 new ones.
		const second = await generateRecipientsCsv(join(dir, 'second.csv'), { rows: 300, messy: false, delimiter: '\t', phoneOffset: 200 });
		const a = await importFile(ctx, c.id, first, '2025-03-01');
		const b = await importFile(ctx, c.id, second, '2025-04-01');
		expect(a.outcome.recipientCount).toBe(300);
		expect(b.outcome.recipientCount).toBe(300);
		expect(b.outcome.rowsImported).toBe(200);
		expect(b.outcome.rowsMerged).toBe(100);
		const detail = await getCampaign({ ctx, input: { campaignId: c.id } });
		expect(detail.recipients).toBe(500);
		expect(detail.drops.map((d) => d.recipientCount).sort()).toEqual([300, 300]);
	});

	it('refuses a Latin-1 file with a message saying it is not UTF-8, and keeps nothing', async () => {
		const ctx = await marketerCtx();
		const c = await createTestCampaign(ctx.db, ctx.tenant.id);
		const path = join(dir, 'latin1.csv');
		// "Müller" and "Café" in ISO-8859-1: single bytes 0xFC and 0xE9 are not UTF-8.
		await writeFile(path, Buffer.from('phone,last name,address\n+12122000001,M\u00fcller,Caf\u00e9 Street\n', 'latin1'));
		await expect(uploadFile(ctx, c.id, path)).rejects.toThrow(/not UTF-8/);
		const drops = await ctx.db.select({ id: mailDrop.id }).from(mailDrop).where(eq(mailDrop.campaignId, c.id));
		expect(drops).toEqual([]);
		expect(await readdir(join(dir, ctx.tenant.id))).toEqual([]);
	});

	it('a cancel during the import leaves no recipients, links or errors of the drop', async () => {
		const ctx = await marketerCtx();
		const c = await createTestCampaign(ctx.db, ctx.tenant.id);
		const file = await generateRecipientsCsv(join(dir, 'cancel.csv'), { rows: 20_000, messy: true });
		const drop = await uploadFile(ctx, c.id, file.path);
		await startMailDropImport({ ctx, input: { dropId: drop.id, mapping: drop.guessedMapping } });
		let cancelled = false;
		let rowsWhenCancelled = 0;
		const outcome = await runRecipientImport({
			ctx: jobCtx(),
			input: {
				dropId: drop.id,
				storageDir: dir,
				onProgress: (p) => {
					if (cancelled) return;
					cancelled = true;
					rowsWhenCancelled = p.rowsImported;
					void cancelMailDropImport({ ctx, input: { dropId: drop.id }, storageDir: dir });
				}
			}
		});
		// Rows were written before the cancel took effect, and none survive it.
		expect(rowsWhenCancelled).toBeGreaterThan(0);
		expect(outcome.status).toBe('cancelled');
		expect(await rowsOfDrop(drop.id)).toEqual({ links: 0, created: 0, errors: 0 });
		const after = await getMailDrop({ ctx, input: { dropId: drop.id }, storageDir: dir });
		expect(after.status).toBe('cancelled');
		expect(after.recipientCount).toBe(0);
		expect((await getCampaign({ ctx, input: { campaignId: c.id } })).recipients).toBe(0);
		const audit = await ctx.db.select({ action: auditLog.action }).from(auditLog).where(eq(auditLog.targetId, drop.id));
		expect(audit.map((a) => a.action).sort()).toEqual(['mail_drop.cancel', 'mail_drop.import_cancelled', 'mail_drop.import_start', 'mail_drop.upload']);
		// A cancelled drop cannot be started again.
		await expect(startMailDropImport({ ctx, input: { dropId: drop.id, mapping: drop.guessedMapping } })).rejects.toThrow(/cancelled/);
	});

	it('a retried job (worker died mid-file) starts the drop over and imports it exactly once', async () => {
		const ctx = await marketerCtx();
		const c = await createTestCampaign(ctx.db, ctx.tenant.id);
		const file = await generateRecipientsCsv(join(dir, 'retry.csv'), { rows: 9_000, messy: true });
		const drop = await uploadFile(ctx, c.id, file.path);
		await startMailDropImport({ ctx, input: { dropId: drop.id, mapping: drop.guessedMapping } });
		// What a dead worker leaves: the drop `importing` with some of its rows written.
		await ctx.db.update(mailDrop).set({ status: 'importing' }).where(eq(mailDrop.id, drop.id));
		const leftover = crypto.randomUUID();
		await ctx.db.insert(recipient).values({ id: leftover, tenantId: ctx.tenant.id, campaignId: c.id, createdDropId: drop.id, trackingCode: 'ZZZZZZZZZZ', phoneE164: '+19995550000' });
		await ctx.db.insert(recipientDrop).values({ tenantId: ctx.tenant.id, dropId: drop.id, recipientId: leftover, line: 2 });
		const outcome = await runRecipientImport({ ctx: jobCtx(), input: { dropId: drop.id, storageDir: dir } });
		expect(outcome.status).toBe('completed');
		expect(outcome.recipientCount).toBe(file.recipients);
		expect(await rowsOfDrop(drop.id)).toEqual({ links: file.recipients, created: file.recipients, errors: file.badLines.size });
		// A second run of the same job finds nothing to do.
		expect((await runRecipientImport({ ctx: jobCtx(), input: { dropId: drop.id, storageDir: dir } })).status).toBe('skipped');
	});

	it("keeps tenants apart: another tenant's marketer cannot read, start, cancel or download a drop", async () => {
		const ctx = await marketerCtx();
		const other = await marketerCtx();
		const c = await createTestCampaign(ctx.db, ctx.tenant.id);
		const file = await generateRecipientsCsv(join(dir, 'iso.csv'), { rows: 50, messy: true });
		const drop = await uploadFile(ctx, c.id, file.path);
		await expect(getMailDrop({ ctx: other, input: { dropId: drop.id }, storageDir: dir })).rejects.toThrow(/not found/);
		await expect(startMailDropImport({ ctx: other, input: { dropId: drop.id, mapping: { phone: 3 } } })).rejects.toThrow(/not found/);
		await expect(cancelMailDropImport({ ctx: other, input: { dropId: drop.id }, storageDir: dir })).rejects.toThrow(/not found/);
		await expect(rejectedRowsCsv({ ctx: other, input: { dropId: drop.id } })).rejects.toThrow(/not found/);
		await expect(uploadFile(other, c.id, file.path)).rejects.toThrow(/not found/);
		await expect(listRecipients({ ctx: other, input: { campaignId: c.id, page: 1, pageSize: 10 } })).rejects.toThrow(/not found/);
		// A viewer of the owning tenant reads but cannot upload.
		await expect(uploadFile({ ...ctx, role: 'viewer' }, c.id, file.path)).rejects.toThrow(/role/);
	});
});
