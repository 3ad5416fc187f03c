import postgres from 'postgres';
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import * as schema from './schema/index';

export type Schema = typeof schema;
export type Db = PostgresJsDatabase<Schema>;
/** A transaction handle has the same query surface as the database. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type DbOrTx = Db | Tx;

export interface DbHandle {
	db: Db;
	sql: postgres.Sql;
	close(): Promise<void>;
}

export function createDb(url: string, opts: { max?: number; applicationName?: string } = {}): DbHandle {
	const sql = postgres(url, {
		max: opts.max ?? 10,
		// postgres.js delays each reconnect by a backoff that grows with the failed attempts of the whole pool
		// (0.5–1 × min(3^n / 100, 20) s) and is reset only by a successful connect: after a PostgreSQL restart of a
		// few seconds under load, the pool waited up to 20 s before trying again. Capped at 1–2 s: at most one attempt
		// per connection a second or so against a server that is down, back within ~2 s of it answering.
		backoff: reconnectBackoffSeconds,
		onnotice: () => {},
		connection: { application_name: opts.applicationName ?? 'voxcalls' }
	});
	const db = drizzle(sql, { schema, casing: 'snake_case' });
	return { db, sql, close: () => sql.end({ timeout: 5 }) };
}

/** Seconds before a closed pool connection tries again, after `retries` failed attempts of its pool. */
export function reconnectBackoffSeconds(retries: number): number {
	return (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 2);
}

/**
 * Runs SQL text with positional parameters ($1, $2, …) on `db`'s connection (the transaction's, when it is one),
 * for the few hot statements built as text: drizzle's query builder costs CPU per parameter, which for a
 * multi-row INSERT of thousands of values was more than the database's own work.
 */
export function unsafeQuery<T = Record<string, unknown>>(db: DbOrTx, text: string, params: unknown[]): Promise<T[]> {
	const session = (db as unknown as { session: { client: postgres.Sql } }).session;
	return session.client.unsafe(text, params as postgres.ParameterOrJSON<never>[]) as unknown as Promise<T[]>;
}

/**
 * The text of a multi-row INSERT into `table`, one typed parameter per value (`$1::uuid, $2::text, …`, row after
 * row in `columns` order), followed by `tail` (ON CONFLICT …, RETURNING …). Returns a builder that makes the text
 * for a row count once and caches it, so a hot writer neither rebuilds it nor, when prepared, re-plans it.
 */
export function multiRowInsert(table: string, columns: readonly { column: string; type: string }[], tail: string): (rows: number) => string {
	const texts = new Map<number, string>();
	const n = columns.length;
	return (rows) => {
		let text = texts.get(rows);
		if (!text) {
			const tuples = Array.from({ length: rows }, (_, r) => `(${columns.map((c, i) => `$${r * n + i + 1}::${c.type}`).join(',')})`);
			text = `insert into ${table} (${columns.map((c) => c.column).join(', ')}) values ${tuples.join(',')} ${tail}`;
			texts.set(rows, text);
		}
		return text;
	};
}

type CommitHook = (db: Db) => Promise<unknown>;
const commitHooks = new WeakMap<Tx, CommitHook[]>();

/**
 * Runs `fn` in a transaction, reusing an outer one when `db` already is a transaction, so service verbs
 * compose, tests can roll back, and outbox rows commit with the change they describe. Hooks registered with
 * afterCommit run once the outermost transaction has committed.
 */
export async function inTransaction<T>(db: DbOrTx, fn: (tx: Tx) => Promise<T>): Promise<T> {
	if (isTx(db)) return fn(db);
	const hooks: CommitHook[] = [];
	const result = await (db as Db).transaction((tx) => {
		commitHooks.set(tx, hooks);
		return fn(tx);
	});
	// Best effort: the change has committed, so a hook's failure must not turn into the caller's error.
	for (const hook of hooks) await hook(db as Db).catch(() => {});
	return result;
}

/**
 * Runs `hook` after the transaction `tx` belongs to has committed (never if it rolls back), on the root database
 * handle. For work that must not sit inside the transaction, such as a NOTIFY (see upsert.ts's wakeRelay). A
 * transaction not opened by inTransaction (a test's rollback transaction) never commits: the hook is dropped.
 */
export function afterCommit(tx: Tx, hook: CommitHook): void {
	commitHooks.get(tx)?.push(hook);
}

function isTx(db: DbOrTx): db is Tx {
	// drizzle's PgTransaction has `rollback`; the root database does not.
	return typeof (db as { rollback?: unknown }).rollback === 'function';
}

/**
 * `column = any($1::type[])`: one array parameter however many values. drizzle's inArray binds (and type-checks)
 * one parameter per value, which for batches of thousands of ids cost more CPU than the statement itself.
 */
export function anyOf(column: AnyColumn, values: readonly (string | number)[], type: 'bigint' | 'text' | 'uuid'): SQL {
	return sql`${column} = any(${sql.param(values)}::${sql.raw(type)}[])`;
}
