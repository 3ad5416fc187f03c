import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createTestTenant } from '../factories/tenant';
import { addMembership, createTestMember, createTestUser, TEST_PASSWORD } from '../factories/users';
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

it('an admin switches tenant and invites someone, who joins in a second browser and sees only that tenant', async () => {
	const baseUrl = inject('baseUrl');
	const db = stores.db.db;
	const run = randomUUID().slice(0, 6);
	// Names sort so the admin's session opens in Alpha; Bravo is the tenant the invitee joins.
	const alpha = await createTestTenant(db, { name: `Alpha ${run}`, slug: `alpha-${run}` });
	const bravo = await createTestTenant(db, { name: `Bravo ${run}`, slug: `bravo-${run}` });
	const admin = await createTestUser(db, { label: 'e2e-admin' });
	await addMembership(db, alpha.id, admin.id, 'tenant_admin');
	await addMembership(db, bravo.id, admin.id, 'tenant_admin');
	const alphaOnly = await createTestMember(db, alpha.id, 'marketer', { label: 'alpha-only' });
	const inviteeEmail = `invitee-${run}@example.test`;
	const inviteePassword = `joined-${run}-password`;

	// 1. The admin signs in (first context), lands in Alpha and switches to Bravo.
	const adminContext = await browser.newContext();
	const page = await adminContext.newPage();
	await signInThroughForm(page, baseUrl, admin.email, TEST_PASSWORD);
	await expect(page.getByTestId('active-tenant').textContent()).resolves.toContain(alpha.name);
	await page.goto(`${baseUrl}/members`, { waitUntil: 'networkidle' });
	await expect(page.getByTestId('members-table').textContent()).resolves.toContain(alphaOnly.email);
	await Promise.all([
		page.waitForResponse((r) => r.url().includes('/switch-tenant')),
		page.locator('#tenant-select').selectOption(bravo.id)
	]);
	await page.getByTestId('active-tenant').filter({ hasText: bravo.name }).waitFor();
	expect(new URL(page.url()).pathname).toBe('/members');
	await expect(page.getByTestId('members-table').textContent()).resolves.not.toContain(alphaOnly.email);

	// 2. It invites a new member into Bravo and reads the one-time link.
	await page.getByTestId('invite-form').getByLabel('Email').fill(inviteeEmail);
	await page.getByTestId('invite-form').getByLabel('Role').selectOption('marketer');
	await page.getByRole('button', { name: 'Create invitation' }).click();
	const link = await page.getByLabel('Invitation link').inputValue();
	expect(link).toMatch(new RegExp(`^${baseUrl}/invite/`));
	await expect(page.getByTestId('invitations-table').textContent()).resolves.toContain(inviteeEmail);

	// 3. A second browser context (another person) accepts it and sets a password.
	const inviteeContext = await browser.newContext();
	const invitee = await inviteeContext.newPage();
	await invitee.goto(link, { waitUntil: 'networkidle' });
	await expect(invitee.getByTestId('invite-email').textContent()).resolves.toBe(inviteeEmail);
	await invitee.getByLabel('Choose a password').fill(inviteePassword);
	await invitee.getByLabel('Repeat it').fill(inviteePassword);
	await Promise.all([invitee.waitForURL(`${baseUrl}/`), invitee.getByRole('button', { name: 'Set password and join' }).click()]);
	await expect(invitee.getByTestId('active-tenant').textContent()).resolves.toContain(bravo.name);

	// 4. Signed out and in again with the new password, the member sees Bravo and nothing of Alpha.
	await Promise.all([invitee.waitForURL(/\/login$/), invitee.getByRole('button', { name: 'Sign out' }).click()]);
	await signInThroughForm(invitee, baseUrl, inviteeEmail, inviteePassword);
	await expect(invitee.getByTestId('active-tenant').textContent()).resolves.toContain(bravo.name);
	const options = await invitee.locator('#tenant-select option').allTextContents();
	expect(options).toEqual([bravo.name]);
	await invitee.goto(`${baseUrl}/members`);
	const members = await invitee.getByTestId('members-table').textContent();
	expect(members).toContain(inviteeEmail);
	expect(members).toContain(admin.email);
	expect(members).not.toContain(alphaOnly.email);
	expect(await invitee.content()).not.toContain(alpha.name);
	// A marketer has no audit log or tenant admin pages, and naming Alpha over the API finds nothing.
	expect((await invitee.goto(`${baseUrl}/audit`))?.status()).toBe(403);
	expect((await invitee.goto(`${baseUrl}/admin/tenants`))?.status()).toBe(403);
	const viaHeader = await invitee.request.get(`${baseUrl}/api/trpc/members.list`, { headers: { 'x-voxcalls-tenant': alpha.slug } });
	expect(viaHeader.status()).toBe(404);
	expect(await viaHeader.text()).not.toContain(alphaOnly.email);

	// 5. The admin's audit log in Bravo shows the invitation and its acceptance.
	await page.goto(`${baseUrl}/audit`);
	const audit = await page.getByTestId('audit-table').textContent();
	expect(audit).toContain('member.invite');
	expect(audit).toContain('invitation.accept');

	await adminContext.close();
	await inviteeContext.close();
});
