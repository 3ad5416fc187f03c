import { eq, like, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { accountKey } from '../../src/lib/server/auth/throttle';
import { signInThrottle } from '../../src/lib/server/db/schema/index';
import { createTestUser, TEST_PASSWORD } from '../factories/users';
import { connectTestStores } from '../setup/stores';
import { postForm } from './helpers';

// Every request of the e2e run comes from 127.0.0.1: clear that address's count around this test so repeated
// local runs inside one window never lock the other browser tests out.
const stores = connectTestStores();
const clearLoopback = () => stores.db.db.delete(signInThrottle).where(like(signInThrottle.key, 'ip:%127.0.0.1'));
beforeAll(clearLoopback);
afterAll(async () => {
	await clearLoopback();
	await stores.close();
});

it('answers repeated failed sign-ins with 429 and Retry-After, one message for every failure, and no session', async () => {
	const baseUrl = inject('baseUrl');
	const u = await createTestUser(stores.db.db, { label: 'brute' });
	try {
		const statuses: number[] = [];
		for (let i = 0; i < 5; i++) {
			const r = await postForm(baseUrl, '/login', { email: u.email, password: `guess-${i}` });
			statuses.push(r.status);
			expect(await r.text()).toContain('Wrong email or password.');
		}
		expect(statuses).toEqual([400, 400, 400, 400, 400]);
		const unknown = await postForm(baseUrl, '/login', { email: `nobody-${u.id}@example.test`, password: 'x' });
		expect(unknown.status).toBe(400);
		expect(await unknown.text()).toContain('Wrong email or password.');

		// Now even the right password is refused until the window closes.
		const blocked = await postForm(baseUrl, '/login', { email: u.email, password: TEST_PASSWORD });
		expect(blocked.status).toBe(429);
		const retryAfter = Number(blocked.headers.get('retry-after'));
		expect(retryAfter).toBeGreaterThan(0);
		expect(retryAfter).toBeLessThanOrEqual(15 * 60);
		expect(blocked.headers.get('set-cookie') ?? '').not.toContain('voxcalls_session=');

		// The same through SvelteKit's enhanced form (JSON): a failure carrying 429, the header still set.
		const enhanced = await postForm(baseUrl, '/login', { email: u.email, password: TEST_PASSWORD }, { accept: 'application/json' });
		expect(await enhanced.json()).toMatchObject({ type: 'failure', status: 429 });
		expect(Number(enhanced.headers.get('retry-after'))).toBeGreaterThan(0);

		// A cross-site form post is refused before it reaches the action.
		const crossSite = await postForm(baseUrl, '/login', { email: u.email, password: TEST_PASSWORD }, { origin: 'https://evil.example' });
		expect(crossSite.status).toBe(403);
	} finally {
		await stores.db.db.delete(signInThrottle).where(like(signInThrottle.key, `account:nobody-${u.id}%`));
	}
	// Let the 15-minute window pass (move its start back), and the owner signs in again: a session cookie that is
	// httpOnly and lax.
	await stores.db.db
		.update(signInThrottle)
		.set({ windowStartedAt: sql`${signInThrottle.windowStartedAt} - interval '15 minutes 1 second'` })
		.where(eq(signInThrottle.key, accountKey(u.email)));
	const ok = await postForm(baseUrl, '/login', { email: u.email, password: TEST_PASSWORD });
	expect(ok.status).toBe(303);
	const cookie = ok.headers.get('set-cookie') ?? '';
	expect(cookie).toMatch(/voxcalls_session=/);
	expect(cookie).toMatch(/HttpOnly/i);
	expect(cookie).toMatch(/SameSite=Lax/i);
});
