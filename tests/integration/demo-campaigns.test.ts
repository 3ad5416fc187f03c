import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, expect, it } from 'vitest';
import { campaign, mailDrop, recipient, trackingEvent } from '../../src/lib/server/db/schema/index';
import { drainOutboxToClickHouse } from '../../src/lib/server/ingest/loops';
import { getCampaignFunnel } from '../../src/lib/server/services/campaigns/funnel';
import { systemActor } from '../../src/lib/server/services/context';
import { DEMO_CAMPAIGNS, seedDemoCampaigns } from '../../src/lib/server/services/demo/campaigns';
import { createTestTenant } from '../factories/tenant';
import { connectTestStores } from '../setup/stores';

const stores = connectTestStores();
const storageDir = mkdtempSync(join(tmpdir(), 'voxcalls-demo-uploads-'));
afterAll(async () => {
	rmSync(storageDir, { recursive: true, force: true });
	await stores.close();
});

it('seeds three campaigns with thousands of recipients and 90 days of scans and page views through the product paths, once', { timeout: 180_000 }, async () => {
	const t = await createTestTenant(stores.db.db, { timezone: 'America/New_York' });
	const callers = ['+12126004667', '+14042881382', '+12065739415', '+442030363537', '+15032008623'];
	const now = new Date('2026-06-15T16:00:00Z');
	const first = await seedDemoCampaigns({ db: stores.db, tenantSlug: t.slug, storageDir, callerNumbers: callers, now });
	expect(first.created).toEqual(DEMO_CAMPAIGNS.map((c) => c.name));
	expect(first.recipients).toBeGreaterThan(5000);

	const campaigns = await stores.db.db.select().from(campaign).where(eq(campaign.tenantId, t.id));
	expect(campaigns).toHaveLength(3);
	// The imports ran to completion, and their few bad rows were reported, not imported.
	const drops = await stores.db.db.select().from(mailDrop).where(eq(mailDrop.tenantId, t.id));
	expect(drops.map((d) => d.status)).toEqual(drops.map(() => 'completed'));
	expect(drops.every((d) => d.rowsRejected === 2)).toBe(true);
	// The emulator's callers are among the recipients (in E.164, however the file wrote them).
	const matched = await stores.db.db
		.select({ phone: recipient.phoneE164 })
		.from(recipient)
		.where(and(eq(recipient.tenantId, t.id), inArray(recipient.phoneE164, callers)));
	expect(matched.length).toBeGreaterThan(0);

	// Scans and views span the 90 days before `now`, none in the future.
	const [span] = await stores.db.db
		.select({ n: sql<number>`count(*)::int`, first: sql<Date>`min(${trackingEvent.occurredAt})`, last: sql<Date>`max(${trackingEvent.occurredAt})` })
		.from(trackingEvent)
		.where(eq(trackingEvent.tenantId, t.id));
	expect(span.n).toBe(first.scans + first.pageViews);
	expect(new Date(span.last).getTime()).toBeLessThanOrEqual(now.getTime());
	expect(now.getTime() - new Date(span.first).getTime()).toBeGreaterThan(80 * 86_400_000);

	await drainOutboxToClickHouse({ db: stores.db, ch: stores.ch });
	const ctx = { db: stores.db.db, ch: stores.ch, actor: systemActor('test'), tenant: t, role: 'viewer' as const };
	for (const c of campaigns) {
		const f = await getCampaignFunnel({ ctx, input: { campaignId: c.id, from: '2026-03-01', to: '2026-06-15' } });
		expect(f.campaign.scans.recipients, c.name).toBeGreaterThan(0);
		expect(f.campaign.scans.recipients).toBeLessThan(f.campaign.sent);
		expect(f.campaign.pageViews.recipients).toBeLessThanOrEqual(f.campaign.scans.recipients);
	}

	const again = await seedDemoCampaigns({ db: stores.db, tenantSlug: t.slug, storageDir, callerNumbers: callers, now });
	expect(again).toEqual({ created: [], recipients: 0, scans: 0, pageViews: 0 });
});
