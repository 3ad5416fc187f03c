import { and, eq } from 'drizzle-orm';
import type { TenantRole } from '../../auth/permissions';
import { inTransaction, type DbOrTx } from '../../db/client';
import { membership, tenant, user } from '../../db/schema/index';
import { createUser } from '../accounts/index';
import { recordAudit } from '../audit/index';
import { systemActor, type ServiceCtx } from '../context';
import { createTenant } from '../tenants/index';

// The demo installation `npm start` opens on. Idempotent: running it again changes nothing that exists.
export const DEMO_PASSWORD = 'voxcalls-demo';

export const DEMO_TENANTS = [
	{ name: 'Acme Dental', slug: 'acme', timezone: 'America/New_York', defaultCountry: 'US' },
	{ name: 'Birch Realty', slug: 'birch', timezone: 'America/Chicago', defaultCountry: 'US' }
] as const;

export const DEMO_USERS: { email: string; isPlatformAdmin: boolean; memberships: { slug: string; role: TenantRole }[] }[] = [
	{ email: 'admin@voxcalls.test', isPlatformAdmin: true, memberships: [] },
	{ email: 'owner@acme.test', isPlatformAdmin: false, memberships: [{ slug: 'acme', role: 'tenant_admin' }] }
];

export interface DemoSeed {
	tenants: Record<string, string>;
	users: { email: string; password: string; role: string }[];
}

export async function seedDemo({ db }: { db: DbOrTx }): Promise<DemoSeed> {
	const ctx: ServiceCtx = { db, actor: systemActor('demo-seed') };
	const tenants: Record<string, string> = {};
	for (const t of DEMO_TENANTS) {
		const [found] = await db.select({ id: tenant.id }).from(tenant).where(eq(tenant.slug, t.slug));
		tenants[t.slug] = found?.id ?? (await createTenant({ ctx, input: { ...t } })).id;
	}
	for (const u of DEMO_USERS) {
		const [found] = await db.select({ id: user.id }).from(user).where(eq(user.email, u.email));
		const userId = found?.id ?? (await createUser({ ctx, input: { email: u.email, password: DEMO_PASSWORD, isPlatformAdmin: u.isPlatformAdmin } })).id;
		for (const m of u.memberships) {
			const tenantId = tenants[m.slug];
			await inTransaction(db, async (tx) => {
				const [exists] = await tx
					.select({ role: membership.role })
					.from(membership)
					.where(and(eq(membership.tenantId, tenantId), eq(membership.userId, userId)));
				if (exists) return;
				await tx.insert(membership).values({ tenantId, userId, role: m.role });
				await recordAudit(tx, ctx, {
					tenantId,
					action: 'member.add',
					targetType: 'user',
					targetId: userId,
					after: { email: u.email, role: m.role }
				});
			});
		}
	}
	return {
		tenants,
		users: DEMO_USERS.map((u) => ({
			email: u.email,
			password: DEMO_PASSWORD,
			role: u.isPlatformAdmin ? 'platform admin' : u.memberships.map((m) => `${m.role} of ${m.slug}`).join(', ')
		}))
	};
}
