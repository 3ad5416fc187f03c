import { createClickHouse, type ClickHouseClient } from '../../src/lib/server/analytics/client';
import { createDb, type DbHandle, type Tx } from '../../src/lib/server/db/client';
import { clickhouseTarget, parseEnv } from '../../src/lib/server/env';
import { testEnv } from './test-env';

/** Real connections to the test stores for one test file; close them in afterAll. */
export function connectTestStores(): { db: DbHandle; ch: ClickHouseClient; close(): Promise<void> } {
	const e = parseEnv(testEnv());
	const db = createDb(e.DATABASE_URL, { max: 5, applicationName: 'voxcalls-test' });
	const ch = createClickHouse(clickhouseTarget(e));
	return { db, ch, close: async () => void (await Promise.all([db.close(), ch.close()])) };
}

class Rollback extends Error {}

/** Runs fn inside a transaction that is always rolled back: nothing the test writes survives it. */
export async function withRollback<T>(db: DbHandle, fn: (tx: Tx) => Promise<T>): Promise<T> {
	let result: T | undefined;
	await db.db
		.transaction(async (tx) => {
			result = await fn(tx);
			throw new Rollback();
		})
		.catch((err) => {
			if (!(err instanceof Rollback)) throw err;
		});
	return result as T;
}
