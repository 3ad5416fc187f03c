import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/lib/server/analytics/client';
import { sql as chSql } from '../../src/lib/server/analytics/literal';
import { outbox, trackingEvent } from '../../src/lib/server/db/schema/index';
import type { TrackingEventRow } from '../../src/lib/server/analytics/tables';
import { projectTrackingFact } from '../../src/lib/server/ingest/tracking-facts';
import { drainOutboxToClickHouse } from '../../src/lib/server/ingest/loops';
import { getCampaignFunnel } from '../../src/lib/server/services/campaigns/funnel';
import { systemActor } from '../../src/lib/server/services/context';
import { recordTrackingHit } from '../../src/lib/server/services/tracking/index';
import { GET as scanRoute, HEAD as scanHeadRoute } from '../../src/routes/q/[code]/+server';
import { GET as pixelRoute } from '../../src/routes/t/p.gif/+server';
import { createTestTenant } from '../factories/tenant';
import { createTrackedCampaign, linkRecipientToDrop, startTrackingServer, testTrackingIntake } from '../factories/tracked-recipients';
import { connectTestStores } from '../setup/stores';

// The public tracking endpoints over real HTTP (node:http, as the production web server serves them) against the
// real stores: what a person's phone, a chat app's preview fetcher and a flood each get, and what is counted.

const stores = connectTestStores();
const { intake, writer } = testTrackingIntake(stores.db);
let server: Awaited<ReturnType<typeof startTrackingServer>>;
beforeAll(async () => {
	server = await startTrackingServer(intake);
});
afterAll(async () => {
	await server.close();
	await stores.close();
});

const PHONE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const scan = (code: string, init: RequestInit & { ua?: string | null } = {}) => {
	const headers = new Headers(init.headers);
	if (init.ua !== null) headers.set('user-agent', init.ua ?? PHONE_UA);
	return fetch(`${server.url}/q/${code}`, { ...init, headers, redirect: 'manual' });
};
const eventsOf = async (campaignId: string) =>
	stores.db.db.select().from(trackingEvent).where(eq(trackingEvent.campaignId, campaignId));
const chCount = async (campaignId: string) => {
	const [row] = await queryRows(
		stores.ch,
		chSql`SELECT count() AS raw, (SELECT count() FROM tracking_events FINAL WHERE campaign_id = toUUID(${campaignId})) AS final
			FROM tracking_events WHERE campaign_id = toUUID(${campaignId})`,
		z.object({ raw: z.coerce.number(), final: z.coerce.number() })
	);
	return row;
};

describe('GET /q/<code>', () => {
	it("redirects to the landing page with its own query and fragment kept, vx and UTM added, and counts the scan in both stores", async () => {
		const t = await createTestTenant(stores.db.db);
		const c = await createTrackedCampaign(stores.db.db, {
			tenantId: t.id,
			landingUrl: 'https://shop.example.test/spring?ref=postcard&utm_source=mailer#offer',
			utm: { campaign: 'spring-sale' },
			drops: [{ sentOn: '2026-01-10', recipients: 2 }]
		});
		const code = c.drops[0].recipients[0].code;
		// Codes are read case-insensitively (a code typed from a postcard).
		const res = await scan(code.toLowerCase());
		expect(res.status).toBe(302);
		expect(res.headers.get('cache-control')).toBe('no-store');
		const to = new URL(res.headers.get('location')!);
		expect(`${to.origin}${to.pathname}`).toBe('https://shop.example.test/spring');
		expect(to.hash).toBe('#offer');
		expect(to.searchParams.get('ref')).toBe('postcard');
		// The landing URL's own utm_source stays; the campaign's utm_campaign and the default medium are added.
		expect(to.searchParams.get('utm_source')).toBe('mailer');
		expect(to.searchParams.get('utm_campaign')).toBe('spring-sale');
		expect(to.searchParams.get('utm_medium')).toBe('direct_mail');
		expect(to.searchParams.get('vx')).toBe(code);

		const events = await eventsOf(c.campaignId);
		expect(events).toHaveLength(1);
		expect(events[0]).toMatchObject({ tenantId: t.id, recipientId: c.drops[0].recipients[0].id, dropId: c.drops[0].id, kind: 'scan' });
		// The outbox row the statement built is exactly the ClickHouse row shape of tracking-facts.ts.
		const [queued] = await stores.db.db.select().from(outbox).where(eq(outbox.eventId, events[0].id));
		const payload = queued.payload as TrackingEventRow;
		expect(payload).toEqual({ ...projectTrackingFact({ ...events[0], url: events[0].url }, new Date()), emitted_at: payload.emitted_at });
		expect(payload.emitted_at).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
		await drainOutboxToClickHouse({ db: stores.db, ch: stores.ch });
		expect(await chCount(c.campaignId)).toEqual({ raw: 1, final: 1 });
	});

	it('answers an unknown or malformed code with a plain 404 and records nothing anywhere', async () => {
		const before = writer.stats.rows;
		const since = new Date();
		for (const code of ['0000000000', 'ZZZZZZZZZZ', 'not-a-code', '%E0%A4%A', "'; drop table recipient; --", 'A'.repeat(500)]) {
			const res = await scan(encodeURIComponent(code));
			expect(res.status, code).toBe(404);
			expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
			expect(res.headers.get('location')).toBeNull();
			expect(await res.text()).toBe('Not found\n');
		}
		expect((await fetch(`${server.url}/t/p.gif?vx=0000000000&u=x`, { headers: { 'user-agent': PHONE_UA } })).status).toBe(404);
		expect(writer.stats.rows).toBe(before);
		const [{ n }] = await stores.db.db.select({ n: sql<number>`count(*)::int` }).from(trackingEvent).where(sql`${trackingEvent.occurredAt} >= ${since.toISOString()}::timestamptz`);
		expect(n).toBe(0);
	});

	it('redirects bots, chat-app preview fetchers, HEAD requests and prefetches without counting them', async () => {
		const t = await createTestTenant(stores.db.db);
		const c = await createTrackedCampaign(stores.db.db, { tenantId: t.id, drops: [{ sentOn: '2026-01-10', recipients: 1 }] });
		const code = c.drops[0].recipients[0].code;
		const uncounted: Array<[string, Promise<Response>]> = [
			['Slack preview', scan(code, { ua: 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)' })],
			['WhatsApp preview', scan(code, { ua: 'WhatsApp/2.23.20.0 A' })],
			['Googlebot', scan(code, { ua: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' })],
			['headless scanner', scan(code, { ua: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36' })],
			['no user agent', scan(code, { ua: null })],
			['HEAD', scan(code, { method: 'HEAD' })],
			['browser prefetch', scan(code, { headers: { 'sec-purpose': 'prefetch' } })]
		];
		for (const [what, pending] of uncounted) {
			const res = await pending;
			expect(res.status, what).toBe(302);
			expect(new URL(res.headers.get('location')!).searchParams.get('vx'), what).toBe(code);
		}
		expect(await eventsOf(c.campaignId)).toHaveLength(0);
		// A person's scan right after them is counted.
		expect((await scan(code)).status).toBe(302);
		expect(await eventsOf(c.campaignId)).toHaveLength(1);
	});

	it('answers 429 with Retry-After once an address exceeds its limit, before looking at the code', async () => {
		const limited = testTrackingIntake(stores.db, { limitPerMinute: 3 });
		const s = await startTrackingServer(limited.intake);
		try {
			const t = await createTestTenant(stores.db.db);
			const c = await createTrackedCampaign(stores.db.db, { tenantId: t.id, drops: [{ sentOn: '2026-01-10', recipients: 1 }] });
			const code = c.drops[0].recipients[0].code;
			const statuses: number[] = [];
			let retryAfter: string | null = null;
			for (let i = 0; i < 5; i++) {
				const res = await fetch(`${s.url}/q/${i === 4 ? 'ZZZZZZZZZZ' : code}`, { headers: { 'user-agent': PHONE_UA }, redirect: 'manual' });
				statuses.push(res.status);
				if (res.status === 429) retryAfter = res.headers.get('retry-after');
			}
			expect(statuses).toEqual([302, 302, 302, 429, 429]);
			expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
			expect(Number(retryAfter)).toBeLessThanOrEqual(60);
			expect(await eventsOf(c.campaignId)).toHaveLength(3);
		} finally {
			await s.close();
		}
	});

	it('thanks the scanner without a redirect when the campaign has no landing page yet, and still counts the scan', async () => {
		const t = await createTestTenant(stores.db.db);
		const c = await createTrackedCampaign(stores.db.db, { tenantId: t.id, landingUrl: null, drops: [{ sentOn: '2026-01-10', recipients: 1 }] });
		const res = await scan(c.drops[0].recipients[0].code);
		expect(res.status).toBe(200);
		expect(await res.text()).not.toContain(c.campaignId);
		expect(await eventsOf(c.campaignId)).toHaveLength(1);
	});
});

describe('GET /t/p.gif', () => {
	it('answers a 1×1 GIF and records a page view with its page', async () => {
		const t = await createTestTenant(stores.db.db);
		const c = await createTrackedCampaign(stores.db.db, { tenantId: t.id, drops: [{ sentOn: '2026-01-10', recipients: 1 }] });
		const code = c.drops[0].recipients[0].code;
		const res = await fetch(`${server.url}/t/p.gif?vx=${code}&u=${encodeURIComponent('https://shop.example.test/pricing?vx=' + code)}`, { headers: { 'user-agent': PHONE_UA } });
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toBe('image/gif');
		expect(new Uint8Array(await res.arrayBuffer()).slice(0, 6)).toEqual(new TextEncoder().encode('GIF89a'));
		const events = await eventsOf(c.campaignId);
		expect(events).toMatchObject([{ kind: 'page_view', url: `https://shop.example.test/pricing?vx=${code}` }]);
	});
});

describe('campaigns.funnel (service)', () => {
	it('counts sent, scans and page views per campaign and drop with exact unique recipients, cut at the tenant’s local days', async () => {
		const t = await createTestTenant(stores.db.db, { timezone: 'America/New_York' });
		const c = await createTrackedCampaign(stores.db.db, {
			tenantId: t.id,
			drops: [
				{ sentOn: '2026-03-02', recipients: 4 },
				{ sentOn: '2026-03-09', recipients: 3 }
			]
		});
		const [a, b] = c.drops;
		// Recipient a0 was mailed again in the second drop: sent counts it once for the campaign, once in each drop.
		await linkRecipientToDrop(stores.db.db, { tenantId: t.id, dropId: b.id, recipientId: a.recipients[0].id });
		const hit = (code: string, kind: 'scan' | 'page_view', at: string) =>
			recordTrackingHit({ ctx: intake, input: { kind, code, method: 'GET', userAgent: PHONE_UA, purpose: null, address: null, at: new Date(at) } });
		// In range (2026-03-01..2026-03-31 New York): a0 scans twice before drop 2 and once after (→ drop 2), a1 once.
		await hit(a.recipients[0].code, 'scan', '2026-03-03T15:00:00Z');
		await hit(a.recipients[0].code, 'scan', '2026-03-04T15:00:00Z');
		await hit(a.recipients[0].code, 'page_view', '2026-03-04T15:01:00Z');
		await hit(a.recipients[0].code, 'page_view', '2026-03-04T15:02:00Z');
		await hit(a.recipients[0].code, 'scan', '2026-03-10T15:00:00Z');
		await hit(a.recipients[1].code, 'scan', '2026-03-05T15:00:00Z');
		await hit(b.recipients[0].code, 'scan', '2026-03-10T16:00:00Z');
		await hit(b.recipients[0].code, 'page_view', '2026-03-10T16:01:00Z');
		// 23:30 on March 31 in New York is April 1 in UTC: inside the range. 00:30 on April 1 local is outside.
		await hit(a.recipients[2].code, 'scan', '2026-04-01T03:30:00Z');
		await hit(a.recipients[3].code, 'scan', '2026-04-01T04:30:00Z');
		await drainOutboxToClickHouse({ db: stores.db, ch: stores.ch });

		const ctx = { db: stores.db.db, ch: stores.ch, actor: systemActor('test'), tenant: t, role: 'viewer' as const };
		const funnel = await getCampaignFunnel({ ctx, input: { campaignId: c.campaignId, from: '2026-03-01', to: '2026-03-31' } });
		expect(funnel.campaign).toEqual({
			sent: 7,
			scans: { events: 6, recipients: 4 },
			pageViews: { events: 3, recipients: 2 },
			scanRate: 4 / 7,
			pageViewRate: 2 / 4
		});
		const [d1, d2] = funnel.drops;
		expect(d1).toMatchObject({ dropId: a.id, sent: 4, scans: { events: 4, recipients: 3 }, pageViews: { events: 2, recipients: 1 } });
		expect(d2).toMatchObject({ dropId: b.id, sent: 4, scans: { events: 2, recipients: 2 }, pageViews: { events: 1, recipients: 1 } });

		// A range before the second drop: only the first drop was sent by then.
		const early = await getCampaignFunnel({ ctx, input: { campaignId: c.campaignId, from: '2026-03-01', to: '2026-03-05' } });
		expect(early.drops.map((d) => d.dropId)).toEqual([a.id]);
		expect(early.campaign).toMatchObject({ sent: 4, scans: { events: 3, recipients: 2 }, pageViews: { events: 2, recipients: 1 } });

		// The rows in ClickHouse are the outbox's, once each.
		expect(await chCount(c.campaignId)).toEqual({ raw: 10, final: 10 });
	});

	it('refuses another tenant’s campaign as not found, before reading ClickHouse', async () => {
		const a = await createTestTenant(stores.db.db);
		const b = await createTestTenant(stores.db.db);
		const c = await createTrackedCampaign(stores.db.db, { tenantId: a.id, drops: [{ sentOn: '2026-01-10', recipients: 1 }] });
		const ctx = { db: stores.db.db, ch: stores.ch, actor: systemActor('test'), tenant: b, role: 'tenant_admin' as const };
		await expect(getCampaignFunnel({ ctx, input: { campaignId: c.campaignId } })).rejects.toMatchObject({ code: 'NOT_FOUND' });
	});
});

describe('the SvelteKit routes (what `vite dev` serves)', () => {
	/** A request as SvelteKit hands it to the route: the parts the routes read. */
	const event = (url: string, init: { method?: string; ua?: string; code?: string } = {}) => {
		const u = new URL(url, 'http://voxcalls.test');
		return {
			request: new Request(u, { method: init.method ?? 'GET', headers: { 'user-agent': init.ua ?? PHONE_UA } }),
			url: u,
			params: { code: init.code ?? '' },
			getClientAddress: () => '203.0.113.7'
		} as never;
	};
	const summary = async (res: Response) => ({
		status: res.status,
		location: res.headers.get('location'),
		type: res.headers.get('content-type'),
		cache: res.headers.get('cache-control')
	});

	it('answer scans and page views as the node:http path does, through the same intake', async () => {
		const t = await createTestTenant(stores.db.db);
		const c = await createTrackedCampaign(stores.db.db, { tenantId: t.id, landingUrl: 'https://example.test/?a=1', drops: [{ sentOn: '2026-01-10', recipients: 1 }] });
		const code = c.drops[0].recipients[0].code;
		const cases: Array<[string, () => Response | Promise<Response>, () => Promise<Response>]> = [
			['a person scanning', () => scanRoute(event(`/q/${code}`, { code })), () => scan(code)],
			['an unknown code', () => scanRoute(event('/q/ZZZZZZZZZZ', { code: 'ZZZZZZZZZZ' })), () => scan('ZZZZZZZZZZ')],
			['a HEAD prefetch', () => scanHeadRoute(event(`/q/${code}`, { code, method: 'HEAD' })), () => scan(code, { method: 'HEAD' })],
			['a chat-app preview', () => scanRoute(event(`/q/${code}`, { code, ua: 'WhatsApp/2.23.20.0 A' })), () => scan(code, { ua: 'WhatsApp/2.23.20.0 A' })],
			['a page view', () => pixelRoute(event(`/t/p.gif?vx=${code}&u=x`)), () => fetch(`${server.url}/t/p.gif?vx=${code}&u=x`, { headers: { 'user-agent': PHONE_UA } })]
		];
		for (const [what, viaRoute, viaNode] of cases) {
			expect(await summary(await viaRoute()), what).toEqual(await summary(await viaNode()));
		}
		// Each path counted the person's scan and the page view once: 2 scans and 2 views in all.
		const events = await eventsOf(c.campaignId);
		expect(events.map((e) => e.kind).sort()).toEqual(['page_view', 'page_view', 'scan', 'scan']);
	});
});
