import { execFileSync } from 'node:child_process';
import { createClickHouse } from '../../../src/lib/server/analytics/client';
import { migrateAll } from '../../../src/lib/server/migrate/index';
import postgres from 'postgres';

// The benchmark's own database pair (PostgreSQL and ClickHouse `voxcalls_bench` on the project-local servers unless
// BENCH_DATABASE_URL / BENCH_CLICKHOUSE_URL say otherwise), dropped and re-created on every run so figures never
// depend on what an earlier run left behind. Only a database whose name ends in `_bench` is ever dropped.

export const BENCH_APP_SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';

export function benchStoreUrls(): { DATABASE_URL: string; CLICKHOUSE_URL: string } {
	const pgPort = process.env.VOXCALLS_PG_PORT ?? '55432';
	const chPort = process.env.VOXCALLS_CH_HTTP_PORT ?? '58123';
	return {
		DATABASE_URL: process.env.BENCH_DATABASE_URL ?? `postgres://postgres@127.0.0.1:${pgPort}/voxcalls_bench`,
		CLICKHOUSE_URL: process.env.BENCH_CLICKHOUSE_URL ?? `http://127.0.0.1:${chPort}/voxcalls_bench`
	};
}

function benchName(name: string, what: string): string {
	if (!/^[A-Za-z_][A-Za-z0-9_]*_bench$/.test(name)) throw new Error(`refusing to re-create ${what} database "${name}": its name must end in _bench`);
	return name;
}

/** Starts the project-local servers (unless both bench URLs point elsewhere), then drops, creates and migrates the pair. */
export async function prepareBenchStores(root: string, log: (s: string) => void): Promise<void> {
	if (!process.env.BENCH_DATABASE_URL || !process.env.BENCH_CLICKHOUSE_URL) {
		execFileSync('bash', [`${root}/scripts/stores.sh`, 'up'], { stdio: ['ignore', 'ignore', 'inherit'] });
	}
	const urls = benchStoreUrls();

	const pgUrl = new URL(urls.DATABASE_URL);
	const pgName = benchName(decodeURIComponent(pgUrl.pathname.replace(/^\//, '')), 'PostgreSQL');
	pgUrl.pathname = '/postgres';
	const admin = postgres(pgUrl.toString(), { max: 1, onnotice: () => {} });
	try {
		await admin.unsafe(`drop database if exists "${pgName}" with (force)`);
		await admin.unsafe(`create database "${pgName}"`);
	} finally {
		await admin.end({ timeout: 5 });
	}

	const chUrl = new URL(urls.CLICKHOUSE_URL);
	const chName = benchName(chUrl.pathname.replace(/^\/|\/$/g, ''), 'ClickHouse');
	const chServer = chUrl.origin;
	const ch = createClickHouse({ url: chServer, database: 'default' });
	try {
		await ch.command({ query: `DROP DATABASE IF EXISTS ${chName}` });
		await ch.command({ query: `CREATE DATABASE ${chName}` });
	} finally {
		await ch.close();
	}

	await migrateAll({ databaseUrl: urls.DATABASE_URL, clickhouse: { url: chServer, database: chName }, root });
	log(`stores: PostgreSQL ${pgName} and ClickHouse ${chName} re-created and migrated`);
	// For trying a schema or setting change before writing its migration, e.g.
	// BENCH_PG_SETUP_SQL="alter table webhook_inbox alter column body set storage external".
	const extra = process.env.BENCH_PG_SETUP_SQL;
	if (extra) {
		const pg = postgres(urls.DATABASE_URL, { max: 1, onnotice: () => {} });
		try {
			await pg.unsafe(extra);
		} finally {
			await pg.end({ timeout: 5 });
		}
		log(`stores: applied BENCH_PG_SETUP_SQL (${extra.length} characters): these figures are for an experiment, not the product`);
	}
}
