import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/** Screenshots go to the e2e suite's own git-ignored output folder, never elsewhere. */
export const E2E_OUTPUT_DIR = join(process.cwd(), 'test-results', 'e2e');

export async function saveScreenshot(page: Page, name: string) {
	mkdirSync(E2E_OUTPUT_DIR, { recursive: true });
	await page.screenshot({ path: join(E2E_OUTPUT_DIR, `${name}.png`), fullPage: true });
}

/** Signs in through the real /login form and waits for the app shell. */
export async function signInThroughForm(page: Page, baseUrl: string, email: string, password: string) {
	// Wait for hydration: typing into server-rendered inputs before it lands can be undone by it under load.
	await page.goto(`${baseUrl}/login`, { waitUntil: 'networkidle' });
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password').fill(password);
	await Promise.all([
		page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 60_000 }),
		page.getByRole('button', { name: 'Sign in' }).click()
	]);
	await expect(page.getByTestId('current-user').textContent()).resolves.toBe(email);
}

/** A form post as a browser without JavaScript sends it (same origin, HTML accepted). */
export function postForm(baseUrl: string, path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
	return fetch(`${baseUrl}${path}`, {
		method: 'POST',
		redirect: 'manual',
		headers: { origin: baseUrl, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', ...headers },
		body: new URLSearchParams(fields).toString()
	});
}
