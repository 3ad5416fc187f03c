import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { queryRows } from './client';
import { sql } from './literal';

// Forward-only migrations for ClickHouse: clickhouse/migrations/NNNN_<intent>.sql, applied in order and
// recorded (name + sha256) in a table inside ClickHouse itself. An applied file whose content changed is
// refused: write a new migration instead.
const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;
const TABLE = 'schema_migrations';

export class MigrationChangedError extends Error {
	override name = 'MigrationChangedError';
}

export interface MigrationFile {
	name: string;
	checksum: string;
	statements: string[];
}

/** Splits a file into statements: `;` at end of line ends one; `--` line comments are dropped. */
export function splitStatements(text: string): string[] {
	const out: string[] = [];
	let cur: string[] = [];
	for (const line of text.split('\n')) {
		if (/^\s*--/.test(line)) continue;
		cur.push(line);
		if (/;\s*$/.test(line)) {
			const stmt = cur.join('\n').trim().replace(/;\s*$/, '').trim();
			if (stmt) out.push(stmt);
			cur = [];
		}
	}
	const rest = cur.join('\n').trim();
	if (rest) out.push(rest);
	return out;
}

export async function readMigrations(dir: string): Promise<MigrationFile[]> {
	const names = (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
	const files: MigrationFile[] = [];
	for (const name of names) {
		if (!FILE_RE.test(name)) throw new Error(`ClickHouse migration ${name} is not named NNNN_<intent>.sql`);
		const text = await readFile(join(dir, name), 'utf8');
		files.push({
			name,
			checksum: createHash('sha256').update(text).digest('hex'),
			statements: splitStatements(text)
		});
	}
	return files;
}

const AppliedRow = z.object({ name: z.string(), checksum: z.string() });

export async function migrateClickHouse(
	ch: ClickHouseClient,
	dir: string,
	log: (msg: string) => void = () => {}
): Promise<{ applied: string[]; skipped: string[] }> {
	await ch.command({
		query: `CREATE TABLE IF NOT EXISTS ${TABLE} (name String, checksum String, applied_at DateTime)
			ENGINE = MergeTree() ORDER BY name`
	});
	const files = await readMigrations(dir);
	const applied = new Map(
		(await queryRows(ch, sql`SELECT name, checksum FROM schema_migrations`, AppliedRow)).map((r) => [r.name, r.checksum])
	);
	// Refuse before applying anything, so a changed history never half-applies newer files.
	for (const f of files) {
		const sum = applied.get(f.name);
		if (sum !== undefined && sum !== f.checksum) {
			throw new MigrationChangedError(
				`ClickHouse migration ${f.name} was applied with checksum ${sum.slice(0, 12)}… but the file now hashes to ` +
					`${f.checksum.slice(0, 12)}…. Applied migrations are immutable: restore the file and add a new migration.`
			);
		}
	}
	const result = { applied: [] as string[], skipped: [] as string[] };
	for (const f of files) {
		if (applied.has(f.name)) {
			result.skipped.push(f.name);
			continue;
		}
		log(`clickhouse: applying ${f.name}`);
		for (const stmt of f.statements) await ch.command({ query: stmt });
		await ch.command({
			query: sql`INSERT INTO schema_migrations (name, checksum, applied_at) VALUES (${f.name}, ${f.checksum}, now())`.text
		});
		result.applied.push(f.name);
	}
	return result;
}

/** Names of the tables and views the migrations create, in the order they create them. */
export function createdNamesInOrder(files: MigrationFile[]): string[] {
	const names: string[] = [];
	for (const f of files) {
		for (const stmt of f.statements) {
			const m = /^CREATE\s+(?:TABLE|(?:MATERIALIZED\s+)?VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:\w+\.)?(\w+)/i.exec(stmt);
			if (m && !names.includes(m[1])) names.push(m[1]);
		}
	}
	return names;
}

/**
 * The current schema as CREATE statements, for clickhouse/schema.sql: SHOW CREATE TABLE of every table and view in
 * the order the migrations (in `dir`) create them (any others after, by name), with the database name removed, so
 * the text depends only on the migrations and the server version, not on which database was migrated.
 */
export async function snapshotClickHouseSchema(ch: ClickHouseClient, database: string, dir: string): Promise<string> {
	const order = createdNamesInOrder(await readMigrations(dir));
	const rank = (name: string) => {
		const i = order.indexOf(name);
		return i === -1 ? order.length : i;
	};
	const tables = (
		await queryRows(
			ch,
			sql`SELECT name FROM system.tables WHERE database = ${database} AND name != 'schema_migrations' AND NOT startsWith(name, '.inner') ORDER BY name`,
			z.object({ name: z.string() })
		)
	).sort((a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
	const parts: string[] = [];
	for (const t of tables) {
		const rs = await ch.query({ query: `SHOW CREATE TABLE ${database}.${t.name}`, format: 'TabSeparatedRaw' });
		parts.push((await rs.text()).trim().replaceAll(`${database}.`, '') + ';');
	}
	return `-- Generated by \`npm run migrate\` from clickhouse/migrations/ (SHOW CREATE TABLE, in migration order); do not edit.\n\n${parts.join('\n\n')}\n`;
}
