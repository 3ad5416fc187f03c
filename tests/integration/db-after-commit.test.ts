import { sql } from 'drizzle-orm';
import { afterAll, expect, it } from 'vitest';
import { afterCommit, inTransaction } from '../../src/lib/server/db/client';
import { connectTestStores } from '../setup/stores';

// afterCommit: what must not run inside a transaction (a NOTIFY) runs once the outermost one has committed.
const stores = connectTestStores();
afterAll(() => stores.close());

it('runs hooks after the outermost commit, nested verbs included, and never after a rollback', async () => {
	const seen: string[] = [];
	await inTransaction(stores.db.db, async (tx) => {
		await tx.execute(sql`select 1`);
		// A nested verb joins the outer transaction; its hook waits for the outer commit too.
		await inTransaction(tx, async (inner) => afterCommit(inner, async () => void seen.push('inner')));
		afterCommit(tx, async () => void seen.push('outer'));
		expect(seen).toEqual([]);
	});
	expect(seen).toEqual(['inner', 'outer']);

	await expect(
		inTransaction(stores.db.db, async (tx) => {
			afterCommit(tx, async () => void seen.push('rolled back'));
			throw new Error('abort');
		})
	).rejects.toThrow('abort');
	expect(seen).toEqual(['inner', 'outer']);
});

it('keeps the committed result when a hook fails', async () => {
	const result = await inTransaction(stores.db.db, async (tx) => {
		afterCommit(tx, async () => {
			throw new Error('hook failed');
		});
		return 42;
	});
	expect(result).toBe(42);
});
