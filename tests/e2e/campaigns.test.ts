import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import Papa from 'papaparse';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createTestTenant } from '../factories/tenant';
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

/** 30 people in national format (the tenant reads numbers as US), semicolon separated, one bad number on line 6. */
function recipientsCsv(): string {
	const lines = ['First name;Last name;Phone;Post area'];
	for (let i = 0; i < 30; i++) {
		const phone = i === 4 ? 'not a number' : `(212) 555-${String(1000 + i)}`;
		lines.push(`Person${i};"Doe; Jr";${phone};${10000 + i}`);
	}
	return lines.join('\r\n') + '\r\n';
}

it('a marketer creates a campaign, imports recipients from a CSV with a bad row, watches the import, downloads the rejected row, opens a recipient\'s QR link and sees the scan', async () => {
	const baseUrl = inject('baseUrl');
	const db = stores.db.db;
	const run = randomUUID().slice(0, 6);
	const tenant = await createTestTenant(db, { name: `Postcards ${run}`, defaultCountry: 'US' });
	const marketer = await createTestMember(db, tenant.id, 'marketer');
	const context = await browser.newContext({ acceptDownloads: true });
	const page = await context.newPage();
	await signInThroughForm(page, baseUrl, marketer.email, TEST_PASSWORD);

	// 1. Creates a campaign.
	await page.goto(`${baseUrl}/campaigns`, { waitUntil: 'networkidle' });
	await expect(page.getByTestId('empty-state').textContent()).resolves.toContain('No campaigns yet');
	const name = `Spring postcards ${run}`;
	await page.getByTestId('create-campaign').getByLabel('Name').fill(name);
	await page.getByTestId('create-campaign').getByLabel('Channel').selectOption('direct_mail');
	await Promise.all([page.waitForURL(/\/campaigns\/[0-9a-f-]{36}$/), page.getByRole('button', { name: 'Create campaign' }).click()]);
	await expect(page.getByTestId('campaign-name').textContent()).resolves.toContain(name);
	await page.waitForLoadState('networkidle');

	// 2. Uploads a CSV with a bad row, maps its columns and watches the import.
	await page.getByLabel('Recipients CSV').setInputFiles({ name: 'spring.csv', mimeType: 'text/csv', buffer: Buffer.from(recipientsCsv(), 'utf8') });
	await page.getByRole('button', { name: 'Upload' }).click();
	const mapping = page.getByTestId('column-mapping');
	await mapping.waitFor();
	// The header guess found the phone and names; the preview shows the file's first rows.
	await expect(mapping.locator('select[data-field="phone"]').inputValue()).resolves.toBe('2');
	await expect(mapping.locator('select[data-field="firstName"]').inputValue()).resolves.toBe('0');
	await expect(mapping.locator('select[data-field="postcode"]').inputValue()).resolves.toBe('');
	await expect(page.getByTestId('mapping-preview').textContent()).resolves.toContain('(212) 555-1000');
	// "Post area" is not a name the guess knows: the marketer maps it by hand.
	await mapping.locator('select[data-field="postcode"]').selectOption('3');
	await mapping.getByRole('button', { name: 'Start import' }).click();
	await mapping.waitFor({ state: 'detached' });
	// The drop's status moves on its own (polled) until the worker has finished it.
	const status = page.getByTestId('drops-table').getByTestId('drop-status');
	await status.filter({ hasText: 'Completed' }).waitFor({ timeout: 60_000 });
	await expect(page.getByTestId('campaign-recipients').textContent()).resolves.toBe('29');
	const drops = await page.getByTestId('drops-table').textContent();
	expect(drops).toContain('spring');
	const recipients = page.getByTestId('recipients-table');
	await expect(recipients.textContent()).resolves.toContain('+12125551000');
	await expect(recipients.textContent()).resolves.toContain('10003');
	await expect(recipients.textContent()).resolves.not.toContain('Person4 ');

	// 3. Downloads the rejected row: its line in the file, the reason, and the row as it was.
	const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-rejected').click()]);
	const csv = await readFile(await download.path(), 'utf8');
	const rows = Papa.parse<string[]>(csv.replace(/^\uFEFF/, ''), { skipEmptyLines: true }).data;
	expect(rows[0]).toEqual(['line', 'reason', 'First name', 'Last name', 'Phone', 'Post area']);
	expect(rows.length).toBe(2);
	expect(rows[1][0]).toBe('6');
	expect(rows[1][1]).toContain('not a phone number');
	expect(rows[1].slice(2)).toEqual(['Person4', 'Doe; Jr', 'not a number', '10004']);

	// 4. Opens a recipient's QR link. The marketer first gives the campaign its landing page (here a page this server
	// has, so the phone's browser can land on it); the link then takes the phone there with the code and UTM values.
	const landing = `${baseUrl}/healthz?ref=postcard`;
	await page.getByTestId('campaign-form').getByLabel('Landing URL').fill(landing);
	await page.getByRole('button', { name: 'Save campaign' }).click();
	await page.getByText('Campaign saved').waitFor();
	const headers = (await recipients.locator('thead th').allTextContents()).map((h) => h.trim());
	const codeCell = recipients.locator('tbody tr', { hasText: '+12125551000' }).locator('td').nth(headers.indexOf('Tracking code'));
	const code = (await codeCell.textContent())?.trim() ?? '';
	expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{10}$/);
	const landed = await openQrLinkOnPhone(browser, baseUrl, code);
	expect(`${landed.origin}${landed.pathname}`).toBe(`${baseUrl}/healthz`);
	expect(Object.fromEntries(landed.searchParams)).toMatchObject({ ref: 'postcard', vx: code, utm_source: 'voxcalls', utm_medium: 'direct_mail', utm_campaign: name });

	// 5. Sees the scan on the campaign page: one of the 29 recipients scanned, in the funnel and in the drop's row.
	await waitForScannersOnCampaignPage(page, 1);
	await expect(page.getByTestId('funnel-sent-recipients').textContent()).resolves.toBe('29');
	await expect(page.getByTestId('funnel-drops').textContent()).resolves.toContain('3.4%');
	// The tag to paste into the landing site, for page views.
	await expect(page.getByTestId('beacon-snippet').textContent()).resolves.toBe(`<script async src="${baseUrl}/t/vx.js"></script>`);
	await context.close();
});
