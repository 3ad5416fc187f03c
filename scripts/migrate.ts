// Migrates both stores: `npm run migrate` (uses DATABASE_URL and CLICKHOUSE_URL), then rewrites clickhouse/schema.sql
// (`-- --no-snapshot` skips that).
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { clickhouseTarget, env } from '../src/lib/server/env';
import { migrateAll } from '../src/lib/server/migrate/index';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
try {
	const e = env();
	await migrateAll({
		databaseUrl: e.DATABASE_URL,
		clickhouse: clickhouseTarget(e),
		root,
		writeSnapshot: !process.argv.includes('--no-snapshot'),
		log: (m) => console.log(`[migrate] ${m}`)
	});
} catch (err) {
	console.error(`[migrate] failed: ${err instanceof Error ? err.message : String(err)}`);
	process.exit(1);
}
