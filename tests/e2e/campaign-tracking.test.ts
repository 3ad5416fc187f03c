import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createTestTenant } from '../factories/tenant';
import { createTrackedCampaign } from '../factories/tracked-recipients';
import { createTestMember, TEST_PASSWORD } from '../factories/users';
import { connectTestStores } from '../setup/stores';
import { launchBrowser } from './browser';
import { signInThroughForm } from './helpers';
import { openQrLinkOnPhone, waitForScannersOnCampaignPage } from './qr-scan-steps';

const stores = connectTestStores();
let browser: Browser;
beforeAll(async () => {
	browser = await launchBrowser();
});
afterAll(async () => {
	await browser?.close();
	await stores.close();
});

it('a recipient opens their QR link on a phone and lands on the campaign page; the marketer sees the scan in the funnel', async () => {
	const baseUrl = inject('baseUrl');
	const db = stores.db.db;
	const tenant = await createTestTenant(db, { name: `QR ${randomUUID().slice(0, 6)}` });
	const marketer = await createTestMember(db, tenant.id, 'marketer');
	// The landing page is a page this server has (/healthz): the browser must reach it to land.
	const c = await createTrackedCampaign(db, { tenantId: tenant.id, landingUrl: `${baseUrl}/healthz?ref=postcard`, drops: [{ sentOn: '2026-01-05', recipients: 3 }] });
	const code = c.drops[0].recipients[0].code;

	const landed = await openQrLinkOnPhone(browser, baseUrl, code);
	expect(landed.pathname).toBe('/healthz');
	expect(Object.fromEntries(landed.searchParams)).toMatchObject({ ref: 'postcard', vx: code, utm_source: 'voxcalls', utm_medium: 'direct_mail' });

	const context = await browser.newContext();
	const page = await context.newPage();
	await signInThroughForm(page, baseUrl, marketer.email, TEST_PASSWORD);
	await page.goto(`${baseUrl}/campaigns/${c.campaignId}?from=2026-01-01`, { waitUntil: 'networkidle' });
	await waitForScannersOnCampaignPage(page, 1);
	await expect(page.getByTestId('funnel-sent-recipients').textContent()).resolves.toBe('3');
	await expect(page.getByTestId('funnel-drops').textContent()).resolves.toContain('33.3%');
	await expect(page.getByTestId('beacon-snippet').textContent()).resolves.toBe(`<script async src="${baseUrl}/t/vx.js"></script>`);
	await context.close();
});
