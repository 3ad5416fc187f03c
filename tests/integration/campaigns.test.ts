import { and, eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { auditLog } from '../../src/lib/server/db/schema/index';
import { createCampaign, getCampaign, listCampaigns, updateCampaign } from '../../src/lib/server/services/campaigns/index';
import { userActor, type TenantServiceCtx } from '../../src/lib/server/services/context';
import { createTestTenant } from '../factories/tenant';
import { createTestMember } from '../factories/users';
import { connectTestStores, withRollback } from '../setup/stores';

const stores = connectTestStores();
afterAll(() => stores.close());

async function marketer(tx: TenantServiceCtx['db'], defaultCountry = 'GB'): Promise<TenantServiceCtx> {
	const t = await createTestTenant(tx, { defaultCountry });
	const m = await createTestMember(tx, t.id, 'marketer');
	return { db: tx, actor: userActor(m), tenant: t, role: 'marketer' };
}

describe('campaigns', () => {
	it('creates a campaign with defaults and tracking numbers read in the tenant country, audited', () =>
		withRollback(stores.db, async (tx) => {
			const ctx = await marketer(tx);
			const c = await createCampaign({ ctx, input: { name: 'Autumn leaflets', channel: 'print_qr', trackingNumbers: ['020 7946 0958', '+1 212 555 1000', '020 7946 0958'] } });
			expect(c.status).toBe('draft');
			expect(c.attributionWindowDays).toBe(60);
			expect(c.trackingNumbers).toEqual(['+12125551000', '+442079460958']);
			expect(c.recipients).toBe(0);
			const audit = await tx.select().from(auditLog).where(and(eq(auditLog.tenantId, ctx.tenant.id), eq(auditLog.targetId, c.id)));
			expect(audit.map((a) => a.action)).toEqual(['campaign.create']);
			expect(audit[0].after).toMatchObject({ name: 'Autumn leaflets', trackingNumbers: ['+12125551000', '+442079460958'] });
		}));

	it('audits only what an update changed, and an update that changes nothing writes nothing', () =>
		withRollback(stores.db, async (tx) => {
			const ctx = await marketer(tx);
			const c = await createCampaign({ ctx, input: { name: 'Winter', channel: 'direct_mail' } });
			await updateCampaign({ ctx, input: { campaignId: c.id, status: 'active', startDate: '2025-01-01', endDate: '2025-03-31' } });
			await updateCampaign({ ctx, input: { campaignId: c.id, status: 'active' } });
			const audit = await tx.select().from(auditLog).where(eq(auditLog.targetId, c.id)).orderBy(auditLog.at);
			expect(audit.map((a) => a.action)).toEqual(['campaign.create', 'campaign.update']);
			expect(audit[1].before).toEqual({ status: 'draft', startDate: null, endDate: null });
			expect(audit[1].after).toEqual({ status: 'active', startDate: '2025-01-01', endDate: '2025-03-31' });
		}));

	it('refuses bad input with a message naming the problem, and keeps the campaign as it was', () =>
		withRollback(stores.db, async (tx) => {
			const ctx = await marketer(tx);
			const c = await createCampaign({ ctx, input: { name: 'Spring', channel: 'web' } });
			await expect(updateCampaign({ ctx, input: { campaignId: c.id, startDate: '2025-05-01', endDate: '2025-04-01' } })).rejects.toThrow(/ends \(2025-04-01\) before it starts/);
			await expect(updateCampaign({ ctx, input: { campaignId: c.id, trackingNumbers: ['12'] } })).rejects.toThrow(/Tracking number .*not a valid number for GB/);
			await expect(createCampaign({ ctx, input: { name: 'SPRING', channel: 'web' } })).rejects.toThrow(/already exists/);
			const after = await getCampaign({ ctx, input: { campaignId: c.id } });
			expect(after.startDate).toBeNull();
			expect(after.trackingNumbers).toEqual([]);
		}));

	it("lists with search, status filter and paging, and never shows another tenant's campaigns", () =>
		withRollback(stores.db, async (tx) => {
			const ctx = await marketer(tx);
			const other = await marketer(tx);
			for (let i = 0; i < 5; i++) await createCampaign({ ctx, input: { name: `Postcards ${i}`, channel: 'direct_mail', status: i < 2 ? 'active' : 'draft' } });
			await createCampaign({ ctx: other, input: { name: 'Postcards elsewhere', channel: 'direct_mail' } });
			const all = await listCampaigns({ ctx, input: { search: 'postcards', page: 1, pageSize: 3 } });
			expect(all.total).toBe(5);
			expect(all.rows).toHaveLength(3);
			expect(all.rows.map((r) => r.name)).not.toContain('Postcards elsewhere');
			const active = await listCampaigns({ ctx, input: { status: 'active', page: 1, pageSize: 10 } });
			expect(active.rows.map((r) => r.name).sort()).toEqual(['Postcards 0', 'Postcards 1']);
			const page2 = await listCampaigns({ ctx, input: { page: 2, pageSize: 3 } });
			expect(page2.rows).toHaveLength(2);
			await expect(getCampaign({ ctx: other, input: { campaignId: all.rows[0].id } })).rejects.toThrow(/not found/);
		}));
});
