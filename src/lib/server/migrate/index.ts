import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { createClickHouse } from '../analytics/client';
import { migrateClickHouse, snapshotClickHouseSchema } from '../analytics/migrator';
import { createDb } from '../db/client';
import { LOCK_IDS, withSessionLock } from '../db/locks';

export interface MigrateTargets {
	databaseUrl: string;
	clickhouse: { url: string; database: string };
	root: string;
	/** Rewrite clickhouse/schema.sql after migrating (`npm run migrate` does; test setup does not). */
	writeSnapshot?: boolean;
	log?: (msg: string) => void;
}

/** Migrates PostgreSQL (drizzle-kit output in migrations/) then ClickHouse (clickhouse/migrations/). */
export async function migrateAll(t: MigrateTargets): Promise<void> {
	const log = t.log ?? (() => {});
	// Two connections: one holds the lock, the other runs the migrations.
	const pg = createDb(t.databaseUrl, { max: 2, applicationName: 'voxcalls-migrate' });
	try {
		// One migrator at a time per database, whoever starts it (start script, test setup, CI).
		const r = await withSessionLock(pg.sql, { id: LOCK_IDS.migrate }, { waitMs: 10 * 60_000 }, () =>
			migrate(pg.db, { migrationsFolder: join(t.root, 'migrations'), migrationsTable: '__drizzle_migrations', migrationsSchema: 'public' })
		);
		if (!r.ran) throw new Error('another migrator held the PostgreSQL migration lock for 10 minutes');
		log('postgres: migrated');
	} finally {
		await pg.close();
	}
	const ch = createClickHouse(t.clickhouse);
	try {
		const dir = join(t.root, 'clickhouse', 'migrations');
		const r = await migrateClickHouse(ch, dir, log);
		log(`clickhouse: ${r.applied.length} applied, ${r.skipped.length} already applied`);
		if (t.writeSnapshot) {
			await writeFile(join(t.root, 'clickhouse', 'schema.sql'), await snapshotClickHouseSchema(ch, t.clickhouse.database, dir));
			log('clickhouse: wrote clickhouse/schema.sql');
		}
	} finally {
		await ch.close();
	}
}
