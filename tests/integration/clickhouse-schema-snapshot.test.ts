import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../src/lib/server/analytics/client';
import { migrateClickHouse, snapshotClickHouseSchema } from '../../src/lib/server/analytics/migrator';
import { clickhouseTarget, parseEnv } from '../../src/lib/server/env';
import { testEnv } from '../setup/test-env';

// clickhouse/schema.sql is the committed picture of what clickhouse/migrations/ build. Migrating a scratch
// database from nothing and snapshotting it must give the committed file, byte for byte: a migration added
// without `npm run migrate` (which rewrites the snapshot) fails here.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const target = clickhouseTarget(parseEnv(testEnv()));
const admin = createClickHouse(target);
const name = `snap_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

afterAll(async () => {
	await admin.command({ query: `DROP DATABASE IF EXISTS ${name}` });
	await admin.close();
});

describe('clickhouse/schema.sql', () => {
	it('is what the migrations build (run `npm run migrate` to regenerate it)', async () => {
		await admin.command({ query: `CREATE DATABASE ${name}` });
		const ch = createClickHouse({ url: target.url, database: name });
		try {
			const dir = join(root, 'clickhouse', 'migrations');
			await migrateClickHouse(ch, dir);
			const fresh = await snapshotClickHouseSchema(ch, name, dir);
			expect(fresh).not.toContain(name);
			expect(await readFile(join(root, 'clickhouse', 'schema.sql'), 'utf8')).toBe(fresh);
		} finally {
			await ch.close();
		}
	});
});
