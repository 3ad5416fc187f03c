import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { createClickHouse } from '../analytics/client';
import { migrateClickHouse, snapshotClickHouseSchema } from '../analytics/migrator';
import { createDb } from '../db/client';

export interface MigrateTargets {
	databaseUrl: string;
	clickhouse: { url: string; database: string };
	root: string;
	writeSnapshot?: boolean;
	log?: (msg: string) => void;
}

/** Migrates PostgreSQL (drizzle-kit output in migrations/) then ClickHouse (clickhouse/migrations/). */
export async function migrateAll(t: MigrateTargets): Promise<void> {
	const log = t.log ?? (() => {});
	const pg = createDb(t.databaseUrl, { max: 1, applicationName: 'voxcalls-migrate' });
	try {
		// One migrator at a time per database, whoever starts it (start script, test setup, CI).
		await pg.sql`select pg_advisory_lock(7263541)`;
		await migrate(pg.db, { migrationsFolder: join(t.root, 'migrations'), migrationsTable: '__drizzle_migrations', migrationsSchema: 'public' });
		await pg.sql`select pg_advisory_unlock(7263541)`;
		log('postgres: migrated');
	} finally {
		await pg.close();
	}
	const ch = createClickHouse(t.clickhouse);
	try {
		const r = await migrateClickHouse(ch, join(t.root, 'clickhouse', 'migrations'), log);
		log(`clickhouse: ${r.applied.length} applied, ${r.skipped.length} already applied`);
		if (t.writeSnapshot) {
			await writeFile(join(t.root, 'clickhouse', 'schema.sql'), await snapshotClickHouseSchema(ch, t.clickhouse.database));
		}
	} finally {
		await ch.close();
	}
}
