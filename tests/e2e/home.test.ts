import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createTestTenant } from '../factories/tenant';
import { createTestMember, TEST_PASSWORD } from '../factories/users';
import { connectTestStores } from '../setup/stores';
import { launchBrowser } from './browser';
import { signInThroughForm } from './helpers';

const stores = connectTestStores();
let browser: Browser;
beforeAll(async () => {
	browser = await launchBrowser();
});
afterAll(async () => {
	await browser?.close();
	await stores.close();
});

it('sends signed-out visitors to sign in', async () => {
	const page = await browser.newPage();
	await page.goto(inject('baseUrl'));
	expect(new URL(page.url()).pathname).toBe('/login');
	await page.close();
});

it('shows the dashboard with the stores healthy once signed in', async () => {
	const t = await createTestTenant(stores.db.db);
	const u = await createTestMember(stores.db.db, t.id, 'viewer');
	const page = await browser.newPage();
	await signInThroughForm(page, inject('baseUrl'), u.email, TEST_PASSWORD);
	await expect(page.getByTestId('health').textContent()).resolves.toMatch(/operational/);
	const health = await (await fetch(`${inject('baseUrl')}/healthz`)).json();
	expect(health.components.postgres.ok).toBe(true);
	expect(health.components.clickhouse.ok).toBe(true);
	await page.close();
});
