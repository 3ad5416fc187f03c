import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { sealSecret, secretHint } from '../../src/lib/server/crypto/secrets';
import { elevenlabsConnection } from '../../src/lib/server/db/schema/index';
import { appRouter } from '../../src/lib/server/trpc/root';
import { createTestTenant } from '../factories/tenant';
import { createTestMember, createTestUser, TEST_PASSWORD } from '../factories/users';
import { connectTestStores } from '../setup/stores';
import { TEST_APP_SECRET } from '../setup/test-env';
import { launchBrowser } from './browser';
import { signInThroughForm } from './helpers';

// Stored upstream secrets are sealed at rest and never reach a browser: not in a page, not in a page's data, not
// in an API answer, not in the built client bundle. Only the hint (last four characters) may show.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const stores = connectTestStores();
let browser: Browser;

const secrets = {
	apiKey: `sk_e2e_${randomUUID().replaceAll('-', '')}`,
	webhookSecret: `wsec_e2e_${randomUUID().replaceAll('-', '')}`,
	twilioToken: `tw_e2e_${randomUUID().replaceAll('-', '')}`
};
let forbidden: string[] = [];

async function walk(dir: string): Promise<string[]> {
	const out: string[] = [];
	for (const e of await readdir(dir, { withFileTypes: true })) {
		const p = join(dir, e.name);
		if (e.isDirectory()) out.push(...(await walk(p)));
		else out.push(p);
	}
	return out;
}

/** Every page of the app as a URL: route groups dropped, dynamic segments filled with a placeholder. */
async function pageUrls(): Promise<string[]> {
	const routes = resolve(root, 'src/routes');
	const pages = (await walk(routes)).filter((f) => f.endsWith('+page.svelte'));
	return pages
		.map((f) =>
			('/' + relative(routes, dirname(f)))
				.split('/')
				.filter((seg) => seg && !/^\(.*\)$/.test(seg))
				.map((seg) => (seg.startsWith('[') ? 'placeholder' : seg))
				.join('/')
		)
		.map((p) => `/${p}`)
		.sort();
}

function expectClean(where: string, body: string) {
	for (const s of forbidden) expect(body.includes(s), `${where} contains a secret (${s.slice(0, 12)}…)`).toBe(false);
}

beforeAll(async () => {
	browser = await launchBrowser();
	const db = stores.db.db;
	const t = await createTestTenant(db);
	const sealed = {
		apiKey: sealSecret(secrets.apiKey, TEST_APP_SECRET),
		webhookSecret: sealSecret(secrets.webhookSecret, TEST_APP_SECRET)
	};
	await db.insert(elevenlabsConnection).values({
		tenantId: t.id,
		name: `Leak check ${t.slug}`,
		baseUrl: 'http://127.0.0.1:1',
		apiKeySealed: sealed.apiKey,
		apiKeyHint: secretHint(secrets.apiKey),
		webhookSecretSealed: sealed.webhookSecret,
		webhookSecretHint: secretHint(secrets.webhookSecret)
	});
	forbidden = [...Object.values(secrets), ...Object.values(sealed), TEST_APP_SECRET];
	users.admin = (await createTestMember(db, t.id, 'tenant_admin')).email;
	users.platform = (await createTestUser(db, { label: 'leak-platform', isPlatformAdmin: true })).email;
});
afterAll(async () => {
	await browser?.close();
	await stores.close();
});
const users: { admin: string; platform: string } = { admin: '', platform: '' };

describe('stored secrets never reach a browser', () => {
	it.each(['admin', 'platform', 'anonymous'] as const)('pages, page data and API answers as %s', async (who) => {
		const baseUrl = inject('baseUrl');
		const context: BrowserContext = await browser.newContext();
		const page = await context.newPage();
		if (who !== 'anonymous') await signInThroughForm(page, baseUrl, users[who], TEST_PASSWORD);
		const urls = await pageUrls();
		expect(urls).toEqual(expect.arrayContaining(['/', '/login', '/members', '/audit', '/admin/tenants']));
		for (const url of urls) {
			const res = await page.goto(`${baseUrl}${url}`);
			expectClean(`page ${url}`, (await res?.text()) ?? '');
			expectClean(`rendered ${url}`, await page.content());
			const data = await context.request.get(`${baseUrl}${url === '/' ? '' : url}/__data.json`);
			expectClean(`${url}/__data.json`, await data.text());
		}
		// Every query procedure over HTTP (mutations are covered by the access-matrix test's leak check).
		for (const [path, proc] of Object.entries(appRouter._def.procedures)) {
			if ((proc as unknown as { _def: { type: string } })._def.type !== 'query') continue;
			const input = encodeURIComponent(JSON.stringify(superjson.serialize({ page: 1, pageSize: 200 })));
			for (const url of [`${baseUrl}/api/trpc/${path}`, `${baseUrl}/api/trpc/${path}?input=${input}`]) {
				const res = await context.request.get(url);
				expectClean(`GET ${path}`, await res.text());
			}
		}
		await context.close();
	});

	it('are not in the built client bundle', async () => {
		const files = (await walk(resolve(root, 'build/client'))).filter((f) => !f.endsWith('.br') && !f.endsWith('.gz'));
		expect(files.length).toBeGreaterThan(0);
		for (const f of files) {
			const text = await readFile(f, 'utf8');
			expectClean(relative(root, f), text);
			// No server module made it into the browser build.
			expect(text, relative(root, f)).not.toMatch(/aes-256-gcm|argon2|DATABASE_URL/);
		}
	});
});
