import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../src/lib/server/analytics/client';
import { migrateClickHouse, MigrationChangedError, splitStatements } from '../../src/lib/server/analytics/migrator';
import { clickhouseTarget, parseEnv } from '../../src/lib/server/env';
import { testEnv } from '../setup/test-env';

// Each test migrates a scratch database of its own on the real server, so it never touches the test schema.
const target = clickhouseTarget(parseEnv(testEnv()));
const admin = createClickHouse(target);
const scratch: string[] = [];

async function scratchDb() {
	const name = `mig_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
	await admin.command({ query: `CREATE DATABASE ${name}` });
	scratch.push(name);
	const dir = await mkdtemp(join(tmpdir(), 'chmig-'));
	return { ch: createClickHouse({ url: target.url, database: name }), dir, name };
}

afterAll(async () => {
	for (const name of scratch) await admin.command({ query: `DROP DATABASE IF EXISTS ${name}` });
	await admin.close();
});

describe('ClickHouse migrator (real server)', () => {
	it('applies files in order, records them, and is a no-op the second time', async () => {
		const { ch, dir } = await scratchDb();
		await writeFile(join(dir, '0001_create_things.sql'), '-- things\nCREATE TABLE things (id UInt32, name String)\nENGINE = MergeTree() ORDER BY id;\n');
		await writeFile(join(dir, '0002_seed_things.sql'), "INSERT INTO things VALUES (1, 'a;b');\nINSERT INTO things VALUES (2, 'c');\n");
		const first = await migrateClickHouse(ch, dir);
		expect(first.applied).toEqual(['0001_create_things.sql', '0002_seed_things.sql']);
		const second = await migrateClickHouse(ch, dir);
		expect(second).toEqual({ applied: [], skipped: ['0001_create_things.sql', '0002_seed_things.sql'] });
		const rows = await (await ch.query({ query: 'SELECT id, name FROM things ORDER BY id', format: 'JSONEachRow' })).json();
		expect(rows).toEqual([{ id: 1, name: 'a;b' }, { id: 2, name: 'c' }]);
		await ch.close();
		await rm(dir, { recursive: true });
	});

	it('refuses an applied file whose content changed, naming it, and applies nothing', async () => {
		const { ch, dir } = await scratchDb();
		await writeFile(join(dir, '0001_create_things.sql'), 'CREATE TABLE things (id UInt32) ENGINE = MergeTree() ORDER BY id;\n');
		await migrateClickHouse(ch, dir);
		await writeFile(join(dir, '0001_create_things.sql'), 'CREATE TABLE things (id UInt64) ENGINE = MergeTree() ORDER BY id;\n');
		await writeFile(join(dir, '0002_more.sql'), 'CREATE TABLE more (id UInt32) ENGINE = MergeTree() ORDER BY id;\n');
		await expect(migrateClickHouse(ch, dir)).rejects.toThrow(MigrationChangedError);
		await expect(migrateClickHouse(ch, dir)).rejects.toThrow(/0001_create_things\.sql/);
		const more = await (await ch.query({ query: "SELECT count() AS c FROM system.tables WHERE database = currentDatabase() AND name = 'more'", format: 'JSONEachRow' })).json();
		expect(more).toEqual([{ c: '0' }]);
		await ch.close();
		await rm(dir, { recursive: true });
	});

	it('rejects badly named files', async () => {
		const { ch, dir } = await scratchDb();
		await writeFile(join(dir, 'create-things.sql'), 'SELECT 1;');
		await expect(migrateClickHouse(ch, dir)).rejects.toThrow(/NNNN_<intent>\.sql/);
		await ch.close();
	});

	it('splits statements on line-ending semicolons only', () => {
		expect(splitStatements("-- c\nSELECT 'a;b';\nSELECT 2\n;\n\nSELECT 3")).toEqual(["SELECT 'a;b'", 'SELECT 2', 'SELECT 3']);
	});
});
