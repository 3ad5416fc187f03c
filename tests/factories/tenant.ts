import { randomUUID } from 'node:crypto';
import type { DbOrTx } from '../../src/lib/server/db/client';
import { tenant } from '../../src/lib/server/db/schema/index';

/** A fresh tenant per test: unique slug, no shared seeded ids. */
export async function createTestTenant(db: DbOrTx, overrides: Partial<typeof tenant.$inferInsert> = {}) {
	const suffix = randomUUID().slice(0, 8);
	const [row] = await db
		.insert(tenant)
		.values({ name: `Test Tenant ${suffix}`, slug: `t-${suffix}`, timezone: 'America/New_York', defaultCountry: 'US', ...overrides })
		.returning();
	return row;
}
