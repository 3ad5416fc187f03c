// Imports a connection's ElevenLabs history for a date range:
//   npm run backfill -- --connection <id> --from 2026-01-01 --to 2026-02-01 [--window-hours 24] [--relay]
// Dates are UTC (a bare date is its midnight); `--to` is exclusive. Uses DATABASE_URL (and CLICKHOUSE_URL with
// --relay). Safe to re-run: conversations already stored final cost nothing but their share of a listing page.
import { parseArgs } from 'node:util';
import { createClickHouse } from '../src/lib/server/analytics/client';
import { createDb } from '../src/lib/server/db/client';
import { clickhouseTarget, env } from '../src/lib/server/env';
import { backfillConnection, type BackfillProgress } from '../src/lib/server/ingest/backfill';
import { drainOutboxToClickHouse } from '../src/lib/server/ingest/loops';
import { withConnectionSyncLock } from '../src/lib/server/ingest/sync';
import { systemActor } from '../src/lib/server/services/context';

const USAGE = 'usage: npm run backfill -- --connection <id> --from <YYYY-MM-DD[Thh:mm]> --to <YYYY-MM-DD[Thh:mm]> [--window-hours 24] [--relay]';

function fail(message: string): never {
	console.error(`[backfill] ${message}\n${USAGE}`);
	process.exit(2);
}

function parseDate(name: string, value: string | undefined): Date {
	if (!value) fail(`--${name} is required`);
	// A bare date or a time without a zone is read as UTC, so a range means the same on every machine.
	const iso = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : /[zZ]|[+-]\d{2}:?\d{2}$/.test(value) ? value : `${value}Z`;
	const d = new Date(iso);
	if (Number.isNaN(d.getTime())) fail(`--${name} is not a date: ${value}`);
	return d;
}

const { values } = parseArgs({
	options: {
		connection: { type: 'string' },
		from: { type: 'string' },
		to: { type: 'string' },
		'window-hours': { type: 'string', default: '24' },
		relay: { type: 'boolean', default: false },
		help: { type: 'boolean', default: false }
	}
});
if (values.help) {
	console.log(USAGE);
	process.exit(0);
}
const connectionId = values.connection ?? fail('--connection is required');
const from = parseDate('from', values.from);
const to = parseDate('to', values.to);
const windowHours = Number(values['window-hours']);
if (!(windowHours > 0)) fail('--window-hours must be a positive number');

const fmt = (n: number) => n.toLocaleString('en-US');
const day = (d: Date) => d.toISOString().replace(':00.000Z', 'Z').replace('T00:00Z', '');

function progressLine(p: BackfillProgress): string {
	const secs = Math.max(0.001, p.elapsedMs / 1000);
	const c = p.counts;
	return (
		`[backfill] ${p.windowsDone}/${p.windowsTotal} ${day(p.window.from)} → ${day(p.window.to)}  ` +
		`listed ${fmt(c.listed)} · fetched ${fmt(c.fetched)} · already final ${fmt(c.current)} · from listing ${fmt(c.fromListing)} · ` +
		`skipped ${fmt(c.skipped)} · written ${fmt(c.written)} · ${(c.listed / secs).toFixed(1)} conv/s · ` +
		`${fmt(p.requests)} requests (${c.listed ? (p.requests / c.listed).toFixed(2) : '0'}/conv)`
	);
}

const e = env();
const db = createDb(e.DATABASE_URL, { max: 6, applicationName: 'voxcalls-backfill' });
const ctx = { db: db.db, actor: systemActor('script:backfill') };
let exitCode = 0;
try {
	console.log(`[backfill] connection ${connectionId}: ${from.toISOString()} → ${to.toISOString()} in ${windowHours} h windows`);
	// Holding the connection's sync lock keeps scheduled polls off it meanwhile (one run per connection upstream).
	const locked = await withConnectionSyncLock(
		db.sql,
		connectionId,
		() => backfillConnection({ ctx, input: { connectionId, from, to, windowSecs: windowHours * 3600, onProgress: (p) => console.log(progressLine(p)) } }),
		{ waitMs: 5 * 60_000 }
	);
	if (!locked.ran) throw new Error('a sync of this connection has been running for 5 minutes; try again later');
	const r = locked.value;
	console.log(
		`[backfill] done in ${(r.elapsedMs / 1000).toFixed(1)} s: ${fmt(r.counts.listed)} conversations listed, ${fmt(r.counts.written)} written, ` +
			`${fmt(r.requests)} upstream requests, ${fmt(r.agents)} agents`
	);
	if (values.relay) {
		const ch = createClickHouse(clickhouseTarget(e));
		try {
			const relayed = await drainOutboxToClickHouse({ db, ch });
			console.log(`[backfill] relayed ${fmt(relayed.inserted)} events to ClickHouse`);
		} finally {
			await ch.close();
		}
	} else console.log('[backfill] the worker relays the new facts to ClickHouse (or pass --relay when none is running)');
} catch (err) {
	console.error(`[backfill] failed: ${err instanceof Error ? err.message : String(err)}`);
	console.error('[backfill] windows reported above are committed; re-run from the first missing one');
	exitCode = 1;
} finally {
	await db.close();
}
process.exit(exitCode);
