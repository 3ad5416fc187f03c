import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startElevenLabsEmulator, type ElevenLabsEmulator } from '../../src/emulators/elevenlabs/server';
import { startTwilioEmulator, type TwilioEmulator } from '../../src/emulators/twilio/server';
import { eq } from 'drizzle-orm';
import { phoneNumber, twilioAccount } from '../../src/lib/server/db/schema/index';
import { mapAgent } from '../../src/lib/server/services/agents/index';
import { saveTwilioAccount } from '../../src/lib/server/services/numbers/twilio-accounts';
import { createTestConnection, factoryActor } from '../factories/ingest';
import { createTestTenant } from '../factories/tenant';
import { createTestMember, createTestUser, TEST_PASSWORD } from '../factories/users';
import { connectTestStores } from '../setup/stores';
import { launchBrowser } from './browser';
import { signInThroughForm } from './helpers';

// An admin buys a number and assigns it to a tenant's agent in the browser; a call to that number (placed by
// the ElevenLabs emulator, delivered as a signed webhook to the served app) shows on that tenant's dashboard.

const stores = connectTestStores();
let browser: Browser;
let el: ElevenLabsEmulator;
let twilio: TwilioEmulator;
let account: { id: string } | undefined;
beforeAll(async () => {
	browser = await launchBrowser();
});
afterAll(async () => {
	// The test database outlives the run; the pool must not keep numbers of an emulator that is gone.
	if (account) {
		await stores.db.db.delete(phoneNumber).where(eq(phoneNumber.twilioAccountId, account.id));
		await stores.db.db.delete(twilioAccount).where(eq(twilioAccount.id, account.id));
	}
	await browser?.close();
	await el?.close();
	await twilio?.close();
	await stores.close();
});

it('an admin buys a number, assigns it to a tenant’s agent, and a call to it lands on that tenant’s dashboard', async () => {
	const baseUrl = inject('baseUrl');
	const db = stores.db.db;
	const suffix = randomBytes(3).toString('hex');
	const apiKey = `sk_e2e_${randomBytes(8).toString('hex')}`;
	const accountSid = `AC${randomBytes(16).toString('hex')}`;
	const authToken = `tw_e2e_${randomBytes(8).toString('hex')}`;
	const agentId = `agent_e2e_${suffix}`;
	// Fresh seeds: conversation ids are global and the test database outlives the run, so an id drawn by an earlier
	// run's emulator must not come back (it would update that run's row, in that run's tenant).
	el = await startElevenLabsEmulator({ apiKey, seed: randomBytes(4).readUInt32LE(), agents: [{ agentId, name: `Reception ${suffix}` }], progression: { inProgressAfterMs: 50, processingAfterMs: 100, finalAfterMs: 150 } });
	el.state.phoneNumbers.clear();
	twilio = await startTwilioEmulator({ accountSid, authToken, seed: randomBytes(4).readUInt32LE() });

	const t = await createTestTenant(db, { name: `Bright Smiles ${suffix}` });
	const connection = await createTestConnection(db, { baseUrl: el.url, apiKey });
	el.control.setWebhookTargets({ urls: [`${baseUrl}/api/webhooks/elevenlabs/${connection.id}`], secret: connection.webhookSecret });
	account = await saveTwilioAccount({ ctx: { db, actor: factoryActor }, input: { name: `Twilio ${suffix}`, accountSid, authToken, baseUrl: twilio.url } });
	await mapAgent({ ctx: { db, actor: factoryActor }, input: { connectionId: connection.id, agentId, tenantId: t.id, name: `Reception ${suffix}` } });
	const admin = await createTestUser(db, { label: 'pool-admin', isPlatformAdmin: true });
	const member = await createTestMember(db, t.id, 'viewer');

	const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
	const page = await context.newPage();
	await signInThroughForm(page, baseUrl, admin.email, TEST_PASSWORD);

	// Search 415 numbers containing 7 and buy the first.
	await page.goto(`${baseUrl}/admin/numbers`, { waitUntil: 'networkidle' });
	await page.getByTestId('number-search').getByLabel('Account').selectOption({ label: `Twilio ${suffix}` });
	await page.getByTestId('number-search').getByLabel('Area code').fill('415');
	await page.getByTestId('number-search').getByLabel('Contains').fill('7');
	await Promise.all([page.waitForURL(/areaCode=415/), page.getByTestId('number-search').getByRole('button', { name: 'Search' }).click()]);
	const firstAvailable = page.getByTestId('available-numbers').locator('tbody tr').first();
	await firstAvailable.waitFor();
	const e164 = ((await firstAvailable.locator('td').first().textContent()) ?? '').trim();
	expect(e164).toMatch(/^\+1415\d{7}$/);
	await page.locator('select').filter({ hasText: connection.name }).selectOption(connection.id);
	await firstAvailable.getByRole('button', { name: 'Buy' }).click();
	const poolRow = page.getByTestId('numbers-table').locator('tbody tr', { hasText: e164 });
	await poolRow.waitFor();
	await expect(poolRow.locator('td').nth(1).textContent()).resolves.toContain('active');
	expect([...twilio.numbers.values()].map((n) => n.phone_number)).toEqual([e164]);

	// Assign it to the tenant's agent, as a campaign tracking number.
	const assign = page.getByTestId(`assign-${e164}`);
	await assign.locator('select').selectOption(`${t.id}|${agentId}`);
	await assign.getByLabel('tracking').check();
	await assign.getByRole('button', { name: 'Assign' }).click();
	await page.getByTestId('numbers-table').locator('tbody tr', { hasText: 'campaign tracking' }).waitFor();
	await expect(poolRow.textContent()).resolves.toContain(t.name);
	await expect(poolRow.textContent()).resolves.toContain('campaign tracking');
	const upstream = [...el.state.phoneNumbers.values()].find((n) => n.phone_number === e164);
	expect(upstream?.agent_id).toBe(agentId);
	await page.screenshot({ path: '/tmp/admin-numbers.png', fullPage: true });

	// Someone calls the number: the emulator routes it to the assigned agent and posts the webhooks.
	const [call] = el.control.generateCalls(1, { toNumber: e164, finalImmediately: true, outcome: 'answered' });
	await el.control.flushWebhooks();
	expect(call.agent_number).toBe(e164);

	const tenantPage = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
	await signInThroughForm(tenantPage, baseUrl, member.email, TEST_PASSWORD);
	// The worker applies the webhook and relays it to ClickHouse; the dashboard shows it once both have run.
	const until = Date.now() + 60_000;
	for (;;) {
		const kpi = ((await tenantPage.getByTestId('kpi-calls').textContent()) ?? '').replace(/\s+/g, ' ');
		if (kpi.includes('Calls 1')) break;
		if (Date.now() > until) throw new Error(`the call never reached the dashboard (kpi: ${kpi})`);
		await new Promise((r) => setTimeout(r, 1000));
		await tenantPage.reload({ waitUntil: 'networkidle' });
	}
	const row = tenantPage.getByTestId('calls-table').locator('tbody tr').first();
	await expect(row.textContent()).resolves.toContain(call.external_number);
	await expect(row.textContent()).resolves.toContain(`Reception ${suffix}`);
	await tenantPage.screenshot({ path: '/tmp/tenant-dashboard-call.png', fullPage: true });
});
