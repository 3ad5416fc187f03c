import { eq, inArray } from 'drizzle-orm';
import { afterAll, expect, it } from 'vitest';
import { membership, tenant, user } from '../../src/lib/server/db/schema/index';
import { signIn } from '../../src/lib/server/services/accounts/index';
import { DEMO_PASSWORD, seedDemo } from '../../src/lib/server/services/demo/seed';
import { connectTestStores, withRollback } from '../setup/stores';

const stores = connectTestStores();
afterAll(() => stores.close());

it('seeds Acme Dental, Birch Realty, a platform admin and a tenant admin, idempotently', async () => {
	await withRollback(stores.db, async (tx) => {
		const first = await seedDemo({ db: tx });
		const second = await seedDemo({ db: tx });
		expect(second).toEqual(first);
		const tenants = await tx.select().from(tenant).where(inArray(tenant.slug, ['acme', 'birch']));
		expect(tenants.map((t) => [t.slug, t.name, t.timezone, t.defaultCountry]).sort()).toEqual([
			['acme', 'Acme Dental', 'America/New_York', 'US'],
			['birch', 'Birch Realty', 'America/Chicago', 'US']
		]);
		const [owner] = await tx.select().from(user).where(eq(user.email, 'owner@acme.test'));
		expect(await tx.select({ role: membership.role }).from(membership).where(eq(membership.userId, owner.id))).toEqual([{ role: 'tenant_admin' }]);
		const [admin] = await tx.select().from(user).where(eq(user.email, 'admin@voxcalls.test'));
		expect(admin.isPlatformAdmin).toBe(true);
		const r = await signIn({ ctx: { db: tx, requestIp: null }, input: { email: 'owner@acme.test', password: DEMO_PASSWORD } });
		expect(r.ok).toBe(true);
		expect(first.users.map((u) => u.email)).toEqual(['admin@voxcalls.test', 'owner@acme.test']);
	});
});
