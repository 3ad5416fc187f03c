import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';

// Steps 4–5 of the campaigns browser test (campaigns.test.ts): a recipient opens their QR link on a phone, and the
// marketer sees the scan on the campaign page.

/** A phone's browser: headless Chromium names itself "HeadlessChrome", which the tracking endpoints rightly ignore. */
const PHONE_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36';

/** Opens `/q/<code>` in a fresh phone browser and returns the URL it landed on. */
export async function openQrLinkOnPhone(browser: Browser, baseUrl: string, code: string): Promise<URL> {
	const phone = await browser.newContext({ userAgent: PHONE_UA, viewport: { width: 412, height: 915 }, isMobile: true });
	try {
		const tab = await phone.newPage();
		await tab.goto(`${baseUrl}/q/${code}`);
		return new URL(tab.url());
	} finally {
		await phone.close();
	}
}

/** Reloads the campaign page until its funnel shows `recipients` scanners (the worker relays the scan to ClickHouse). */
export async function waitForScannersOnCampaignPage(page: Page, recipients: number, timeoutMs = 60_000): Promise<void> {
	const scanners = page.getByTestId('funnel-scans-recipients');
	const until = Date.now() + timeoutMs;
	for (;;) {
		await page.reload({ waitUntil: 'networkidle' });
		if ((await scanners.textContent())?.trim() === String(recipients)) return;
		if (Date.now() > until) break;
		await page.waitForTimeout(1000);
	}
	await expect(scanners.textContent()).resolves.toBe(String(recipients));
}
