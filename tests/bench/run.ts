// `npm run bench`: runs every benchmark in tests/bench/ one after another and prints their figures. Arguments pass
// through (e.g. `npm run bench -- --quick`); `npm run bench -- ingest-webhooks` runs only the ones named.
// Timing never fails a run; a benchmark that finds a correctness problem (e.g. lost data) sets a non-zero exit.
import { runFinanceBenchmark } from './finance';
import { runIngestWebhooksBenchmark } from './ingest-webhooks';
import { stopAllChildren } from './lib/processes';
import { runRecipientsImportBenchmark } from './recipients-import';
import { runQrRedirectBenchmark } from './qr-redirect';

const BENCHMARKS: Record<string, (argv: string[]) => Promise<{ lossFree: boolean }>> = {
	'ingest-webhooks': runIngestWebhooksBenchmark,
	finance: runFinanceBenchmark,
	'qr-redirect': runQrRedirectBenchmark,
	'recipients-import': runRecipientsImportBenchmark
};

const args = process.argv.slice(2);
const named = args.filter((a) => !a.startsWith('-'));
const unknown = named.filter((n) => !(n in BENCHMARKS));
if (unknown.length) {
	console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
	process.exit(64);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
	process.once(sig, () => void stopAllChildren(5_000).finally(() => process.exit(130)));
}

let exitCode = 0;
for (const [name, run] of Object.entries(BENCHMARKS)) {
	if (named.length && !named.includes(name)) continue;
	console.log(`\n=== ${name} ===`);
	try {
		const r = await run(args.filter((a) => a.startsWith('-')));
		if (!r.lossFree) exitCode = 2;
	} catch (err) {
		console.error(`[bench] ${name} failed:`, err);
		await stopAllChildren(5_000);
		exitCode = 1;
	}
}
process.exit(exitCode);
