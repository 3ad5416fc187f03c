/**
 * Recipient import benchmark. Generates a 1M-row recipients CSV (the integration test's messy generator: BOM,
 * semicolons, CRLF, quoted commas and line breaks, blank lines, ~3% bad numbers, ~3% duplicates), then in one run:
 *   - reference: papaparse streaming + libphonenumber-js on the same file, no database (the same reader and
 *     row validation the import uses, results discarded);
 *   - VoxCalls, end to end: the upload verb streams the file into storage (UTF-8 check), the mapping is confirmed,
 *     and the import job's engine parses, normalises and writes every batch, then publishes the drop.
 * It prints rows/s of both, the share of the reference, and the import's peak RSS growth over its start, against
 * the targets (≥ 50k rows/s, ≥ 50 % of the reference, ≤ 128 MB). Correctness (every good row imported, every bad
 * row reported) sets the exit code; timing never does.
 *
 * Run: `npm run bench -- recipients-import` (alone) or `npx tsx tests/bench/recipients-import.ts`; `--quick` (or
 * BENCH_QUICK=1) uses 100k rows. Knobs: BENCH_IMPORT_ROWS (default 1,000,000). Uses the `voxcalls_bench` database
 * pair (dropped and re-created, see lib/stores.ts).
 */
import { mkdtempSync, rmSync, createReadStream } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { count, eq } from 'drizzle-orm';
import { createDb } from '../../src/lib/server/db/client';
import { recipientImportError } from '../../src/lib/server/db/schema/index';
import { systemActor, type TenantServiceCtx } from '../../src/lib/server/services/context';
import { readCsvRecords } from '../../src/lib/server/services/campaigns/csv-import';
import { startMailDropImport, uploadMailDrop } from '../../src/lib/server/services/campaigns/drops';
import { runRecipientImport, validateRecipientRecord } from '../../src/lib/server/services/campaigns/recipient-import';
import { createTestCampaign } from '../factories/campaigns';
import { generateRecipientsCsv } from '../factories/recipients-csv';
import { createTestTenant } from '../factories/tenant';
import { fmtInt, fmtPct, renderTable } from './lib/stats';
import { benchStoreUrls, prepareBenchStores } from './lib/stores';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TARGETS = { rowsPerSec: 50_000, shareOfReference: 0.5, memoryGrowthMb: 128 };
const MB = 1_048_576;

/** Peak RSS while `fn` runs, sampled every 50 ms (and at the end). */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ result: T; startRss: number; peakRss: number }> {
	const startRss = process.memoryUsage.rss();
	let peakRss = startRss;
	const timer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
	try {
		const result = await fn();
		peakRss = Math.max(peakRss, process.memoryUsage.rss());
		return { result, startRss, peakRss };
	} finally {
		clearInterval(timer);
	}
}

export async function runRecipientsImportBenchmark(argv: string[]): Promise<{ lossFree: boolean }> {
	const quick = argv.includes('--quick') || process.env.BENCH_QUICK === '1';
	const rows = Number(process.env.BENCH_IMPORT_ROWS ?? (quick ? 100_000 : 1_000_000));
	const log = (s: string) => console.log(`[recipients-import] ${s}`);
	await prepareBenchStores(root, log);
	const dir = mkdtempSync(join(tmpdir(), 'voxcalls-bench-import-'));
	const handle = createDb(benchStoreUrls().DATABASE_URL, { max: 4, applicationName: 'voxcalls-bench-import' });
	try {
		log(`generating ${fmtInt(rows)} rows…`);
		const file = await generateRecipientsCsv(join(dir, 'recipients.csv'), { rows, delimiter: ';', bom: true, crlf: true, messy: true });
		log(`file: ${(file.bytes / MB).toFixed(1)} MB, ${fmtInt(file.badLines.size)} bad rows, ${fmtInt(file.merged)} duplicates, ${fmtInt(file.recipients)} recipients`);
		const mapping = { customerId: 0, firstName: 1, lastName: 2, phone: 3, email: 4, address: 5, postcode: 6 };

		// Reference: the same streaming reader and validation, no database.
		const refStart = performance.now();
		let refGood = 0;
		let refBad = 0;
		for await (const rec of readCsvRecords(file.path, ';').records) {
			if (validateRecipientRecord(rec.line, rec.fields, mapping, 'US').ok) refGood++;
			else refBad++;
		}
		const refSeconds = (performance.now() - refStart) / 1000;
		const refRate = rows / refSeconds;
		log(`reference: ${fmtInt(refRate)} rows/s (${refSeconds.toFixed(1)} s)`);

		const db = handle.db;
		const tenant = await createTestTenant(db, { defaultCountry: 'US' });
		const c = await createTestCampaign(db, tenant.id, { name: 'Benchmark drop' });
		const ctx: TenantServiceCtx = { db, actor: systemActor('bench'), tenant, role: 'marketer' };
		(globalThis as { gc?: () => void }).gc?.();
		await new Promise((r) => setTimeout(r, 200));
		const { result, startRss, peakRss } = await withPeakRss(async () => {
			const t0 = performance.now();
			const drop = await uploadMailDrop({
				ctx,
				input: { campaignId: c.id, fileName: 'recipients.csv', sentOn: '2025-05-01', body: createReadStream(file.path), storageDir: dir, maxBytes: 4096 * MB }
			});
			const tUpload = performance.now();
			await startMailDropImport({ ctx, input: { dropId: drop.id, mapping: drop.guessedMapping } });
			const outcome = await runRecipientImport({ ctx: { db, actor: systemActor('bench') }, input: { dropId: drop.id, storageDir: dir } });
			const t1 = performance.now();
			return { drop, outcome, seconds: (t1 - t0) / 1000, uploadSeconds: (tUpload - t0) / 1000 };
		});
		const { outcome, seconds, uploadSeconds, drop } = result;
		const rate = rows / seconds;
		const growthMb = (peakRss - startRss) / MB;
		const [{ n: errorRows }] = await db.select({ n: count() }).from(recipientImportError).where(eq(recipientImportError.dropId, drop.id));
		const correct =
			outcome.status === 'completed' &&
			outcome.recipientCount === file.recipients &&
			outcome.rowsRejected === file.badLines.size &&
			errorRows === file.badLines.size &&
			refBad === file.badLines.size &&
			refGood === rows - file.badLines.size;

		const met = (ok: boolean) => (ok ? 'yes' : 'NO');
		console.log(
			renderTable(
				['metric', 'VoxCalls import', 'reference (parse + phones, no DB)', 'target', 'met?'],
				[
					['rows/s end to end', fmtInt(rate), fmtInt(refRate), `≥ ${fmtInt(TARGETS.rowsPerSec)}`, met(rate >= TARGETS.rowsPerSec)],
					['share of reference', fmtPct(rate / refRate), '100%', `≥ ${fmtPct(TARGETS.shareOfReference)}`, met(rate / refRate >= TARGETS.shareOfReference)],
					['peak RSS growth', `${growthMb.toFixed(0)} MB`, '—', `≤ ${TARGETS.memoryGrowthMb} MB`, met(growthMb <= TARGETS.memoryGrowthMb)],
					['seconds', seconds.toFixed(1), refSeconds.toFixed(1), '', '']
				]
			)
		);
		log(
			`details: ${fmtInt(rows)} rows (${(file.bytes / MB).toFixed(1)} MB); upload to storage ${uploadSeconds.toFixed(1)} s; ` +
				`recipients ${fmtInt(outcome.recipientCount)} (expected ${fmtInt(file.recipients)}), merged ${fmtInt(outcome.rowsMerged)}, ` +
				`rejected ${fmtInt(outcome.rowsRejected)} (expected ${fmtInt(file.badLines.size)}); RSS ${(startRss / MB).toFixed(0)} → peak ${(peakRss / MB).toFixed(0)} MB`
		);
		// The machine is shared: the load average says how much of it the two measurements had.
		log(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' / ')} (1/5/15 min) on ${cpus().length} cores`);
		log(correct ? 'correctness: every good row imported, every bad row reported' : 'CORRECTNESS FAILURE: counts differ from the file (see details)');
		return { lossFree: correct };
	} finally {
		await handle.close();
		rmSync(dir, { recursive: true, force: true });
	}
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1]);
if (isMain) {
	runRecipientsImportBenchmark(process.argv.slice(2)).then(
		(r) => process.exit(r.lossFree ? 0 : 2),
		(err) => {
			console.error(err);
			process.exit(1);
		}
	);
}
