import { randomUUID } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../src/lib/server/auth/password';
import { sessionCookieSecure, startSession, validateSessionToken } from '../../src/lib/server/auth/session';
import { accountKey, countSignInAttempt, ipKey, type ThrottlePolicy } from '../../src/lib/server/auth/throttle';
import type { Tx } from '../../src/lib/server/db/client';
import { auditLog, membership, signInThrottle, tenant } from '../../src/lib/server/db/schema/index';
import { parseEnv } from '../../src/lib/server/env';
import { changePassword, SIGN_IN_FAILED, signIn } from '../../src/lib/server/services/accounts/index';
import { userActor } from '../../src/lib/server/services/context';
import { acceptInvitation, INVITATION_TTL_MS, previewInvitation } from '../../src/lib/server/services/invitations/index';
import { createCallerFactory, createContextForSession } from '../../src/lib/server/trpc/init';
import { appRouter } from '../../src/lib/server/trpc/root';
import { createTestTenant } from '../factories/tenant';
import { createTestMember, createTestUser, signedInContext, TEST_PASSWORD } from '../factories/users';
import { connectTestStores, withRollback } from '../setup/stores';
import { testEnv } from '../setup/test-env';

const stores = connectTestStores();
afterAll(() => stores.close());
const createCaller = createCallerFactory(appRouter);

async function callerFor(tx: Tx, userId: string, opts: { activeTenantId?: string | null; tenantSlug?: string } = {}) {
	const { ctx, token } = await signedInContext(tx, userId, opts);
	return { caller: createCaller(ctx), token };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
	try {
		await p;
		return 'ok';
	} catch (err) {
		if (err instanceof TRPCError) return err.code;
		throw err;
	}
}

const policy: ThrottlePolicy = { windowMs: 60_000, maxPerAccount: 5, maxPerIp: 1000 };

describe('passwords and cookies', () => {
	it('hashes with argon2id and refuses a malformed stored hash quietly', async () => {
		const h = await hashPassword('a long enough password');
		expect(h.startsWith('$argon2id$')).toBe(true);
		expect(await verifyPassword(h, 'a long enough password')).toBe(true);
		expect(await verifyPassword(h, 'a long enough passworD')).toBe(false);
		expect(await verifyPassword('not-a-hash', 'x')).toBe(false);
	});

	it('issues an httpOnly, sameSite=lax session cookie, secure outside development and tests', async () => {
		await withRollback(stores.db, async (tx) => {
			const u = await createTestUser(tx);
			const { cookie } = await startSession(tx, u.id, { activeTenantId: null });
			expect(cookie.attributes).toMatchObject({ httpOnly: true, sameSite: 'lax', path: '/' });
		});
		const base = testEnv();
		expect(sessionCookieSecure(parseEnv({ ...base, NODE_ENV: 'production' }))).toBe(true);
		expect(sessionCookieSecure(parseEnv({ ...base, NODE_ENV: 'development', ORIGIN: 'https://calls.example.com' }))).toBe(true);
		expect(sessionCookieSecure(parseEnv({ ...base, NODE_ENV: 'development', ORIGIN: 'http://localhost:5173' }))).toBe(false);
	});
});

describe('sign-in', () => {
	it('starts a session in the first tenant and answers one message for a wrong email or a wrong password', async () => {
		await withRollback(stores.db, async (tx) => {
			const t = await createTestTenant(tx);
			const u = await createTestMember(tx, t.id, 'viewer');
			const ctx = { db: tx, requestIp: '203.0.113.1' };
			const ok = await signIn({ ctx, input: { email: `  ${u.email.toUpperCase()} `, password: TEST_PASSWORD }, policy });
			expect(ok.ok).toBe(true);
			if (!ok.ok) return;
			const v = await validateSessionToken(tx, ok.cookie.value);
			expect(v?.user).toEqual({ id: u.id, email: u.email, isPlatformAdmin: false });
			expect(v?.session.activeTenantId).toBe(t.id);

			const wrongPassword = await signIn({ ctx, input: { email: u.email, password: 'not the password' }, policy });
			const unknownEmail = await signIn({ ctx, input: { email: `nobody-${randomUUID()}@example.test`, password: TEST_PASSWORD }, policy });
			expect(wrongPassword).toEqual({ ok: false, reason: 'invalid', message: SIGN_IN_FAILED });
			expect(unknownEmail).toEqual(wrongPassword);
		});
	});

	it('answers 429-style refusals after repeated failures, and the account works again after the window', async () => {
		await withRollback(stores.db, async (tx) => {
			const u = await createTestUser(tx);
			const t0 = new Date('2030-01-01T10:00:00Z');
			const at = (s: number) => new Date(t0.getTime() + s * 1000);
			const ctx = { db: tx, requestIp: '203.0.113.2' };
			for (let i = 0; i < 5; i++) {
				const r = await signIn({ ctx, input: { email: u.email, password: `guess-${i}` }, now: at(i), policy });
				expect(r).toMatchObject({ ok: false, reason: 'invalid' });
			}
			// Over the limit: refused without checking the password, even the right one, with the time left.
			const blocked = await signIn({ ctx, input: { email: u.email, password: TEST_PASSWORD }, now: at(10), policy });
			expect(blocked).toMatchObject({ ok: false, reason: 'throttled', retryAfterSeconds: 50 });
			// Another address does not help: the count is per account too.
			const elsewhere = await signIn({ ctx: { db: tx, requestIp: '203.0.113.99' }, input: { email: u.email, password: TEST_PASSWORD }, now: at(20), policy });
			expect(elsewhere).toMatchObject({ ok: false, reason: 'throttled', retryAfterSeconds: 40 });
			// After the window the owner signs in, and the count starts afresh.
			const later = await signIn({ ctx, input: { email: u.email, password: TEST_PASSWORD }, now: at(61), policy });
			expect(later.ok).toBe(true);
			const [row] = await tx.select().from(signInThrottle).where(eq(signInThrottle.key, accountKey(u.email)));
			expect(row).toBeUndefined();
		});
	});

	it('throttles one address trying many accounts', async () => {
		await withRollback(stores.db, async (tx) => {
			const ipPolicy: ThrottlePolicy = { windowMs: 60_000, maxPerAccount: 5, maxPerIp: 3 };
			const ctx = { db: tx, requestIp: '203.0.113.3' };
			const now = new Date('2030-01-01T10:00:00Z');
			const results = [];
			for (let i = 0; i < 4; i++) {
				results.push(await signIn({ ctx, input: { email: `spray-${i}-${randomUUID()}@example.test`, password: 'x' }, now, policy: ipPolicy }));
			}
			expect(results.map((r) => (r.ok ? 'ok' : r.reason))).toEqual(['invalid', 'invalid', 'invalid', 'throttled']);
		});
	});

	it('lets no more than the limit through a parallel burst (the count is taken before the password check)', async () => {
		const email = `burst-${randomUUID()}@example.test`;
		const ip = `burst-${randomUUID()}`;
		const now = new Date();
		try {
			const verdicts = await Promise.all(
				Array.from({ length: 20 }, () => countSignInAttempt(stores.db.db, { email, ip, now, policy }))
			);
			expect(verdicts.filter((v) => v.allowed)).toHaveLength(5);
		} finally {
			await stores.db.db.delete(signInThrottle).where(inArray(signInThrottle.key, [accountKey(email), ipKey(ip)]));
		}
	});
});

describe('sessions end when they must', () => {
	it('a password change ends every session and starts a fresh one; a wrong current password changes nothing', async () => {
		await withRollback(stores.db, async (tx) => {
			const t = await createTestTenant(tx);
			const u = await createTestMember(tx, t.id, 'viewer');
			const { token: other } = await signedInContext(tx, u.id, { activeTenantId: t.id });
			const ctx = { db: tx, actor: userActor(u), requestIp: '203.0.113.4', activeTenantId: t.id };

			const wrong = await changePassword({ ctx, input: { currentPassword: 'nope', newPassword: 'a brand new password' } });
			expect(wrong).toMatchObject({ ok: false, field: 'currentPassword' });
			expect(await validateSessionToken(tx, other)).not.toBeNull();

			const weak = await changePassword({ ctx, input: { currentPassword: TEST_PASSWORD, newPassword: 'short' } });
			expect(weak).toMatchObject({ ok: false, field: 'newPassword' });

			const r = await changePassword({ ctx, input: { currentPassword: TEST_PASSWORD, newPassword: 'a brand new password' } });
			expect(r.ok).toBe(true);
			if (!r.ok) return;
			expect(await validateSessionToken(tx, other)).toBeNull();
			expect((await validateSessionToken(tx, r.cookie.value))?.session.activeTenantId).toBe(t.id);
			const [audit] = await tx.select().from(auditLog).where(and(eq(auditLog.actorUserId, u.id), eq(auditLog.action, 'account.password_change')));
			expect(audit).toMatchObject({ targetId: u.id, requestIp: '203.0.113.4' });
			const signedIn = await signIn({ ctx: { db: tx, requestIp: null }, input: { email: u.email, password: 'a brand new password' }, policy });
			expect(signedIn.ok).toBe(true);
		});
	});

	it('removing a member ends their sessions, writes the audit row, and keeps the last tenant admin', async () => {
		await withRollback(stores.db, async (tx) => {
			const t = await createTestTenant(tx);
			const admin = await createTestMember(tx, t.id, 'tenant_admin');
			const member = await createTestMember(tx, t.id, 'marketer');
			const { token } = await signedInContext(tx, member.id, { activeTenantId: t.id });
			const { caller } = await callerFor(tx, admin.id, { activeTenantId: t.id });

			await caller.members.remove({ userId: member.id });
			expect(await validateSessionToken(tx, token)).toBeNull();
			expect(await tx.select().from(membership).where(eq(membership.userId, member.id))).toEqual([]);
			const [audit] = await tx.select().from(auditLog).where(and(eq(auditLog.tenantId, t.id), eq(auditLog.action, 'member.remove')));
			expect(audit).toMatchObject({ actorUserId: admin.id, actorLabel: admin.email, targetId: member.id, before: { email: member.email, role: 'marketer' } });

			// The only tenant admin can neither leave nor step down, and the refusal writes no audit row.
			expect(await codeOf(caller.members.remove({ userId: admin.id }))).toBe('CONFLICT');
			expect(await codeOf(caller.members.changeRole({ userId: admin.id, role: 'viewer' }))).toBe('CONFLICT');
			const rows = await tx.select().from(auditLog).where(eq(auditLog.tenantId, t.id));
			expect(rows.map((r) => r.action)).toEqual(['member.remove']);
		});
	});
});

describe('invitations', () => {
	it('a new person sets a password and lands in the tenant; the link then stops working', async () => {
		await withRollback(stores.db, async (tx) => {
			const t = await createTestTenant(tx);
			const admin = await createTestMember(tx, t.id, 'tenant_admin');
			const { caller } = await callerFor(tx, admin.id, { activeTenantId: t.id });
			const email = `Invitee-${randomUUID().slice(0, 8)}@Example.test`;
			const inv = await caller.members.invite({ email, role: 'finance' });
			expect(await caller.members.listInvitations()).toEqual([
				expect.objectContaining({ email: email.toLowerCase(), role: 'finance', expired: false, invitedBy: admin.email })
			]);
			expect(JSON.stringify(await caller.members.listInvitations())).not.toContain(inv.token.split('.')[1]);

			expect(await previewInvitation({ db: tx, token: inv.token })).toMatchObject({ email: email.toLowerCase(), role: 'finance', accountExists: false });
			const weak = await acceptInvitation({ ctx: { db: tx }, input: { token: inv.token, password: 'short' } });
			expect(weak).toMatchObject({ ok: false, reason: 'weak-password' });
			const tampered = inv.token.slice(0, -2) + (inv.token.endsWith('aa') ? 'bb' : 'aa');
			expect(await acceptInvitation({ ctx: { db: tx }, input: { token: tampered, password: 'a good long password' } })).toMatchObject({
				ok: false,
				reason: 'invalid-link'
			});

			const ok = await acceptInvitation({ ctx: { db: tx, requestIp: '203.0.113.5' }, input: { token: inv.token, password: 'a good long password' } });
			expect(ok.ok).toBe(true);
			if (!ok.ok) return;
			const v = await validateSessionToken(tx, ok.cookie.value);
			expect(v?.user.email).toBe(email.toLowerCase());
			expect(v?.session.activeTenantId).toBe(t.id);
			const members = await caller.members.list();
			expect(members.find((m) => m.email === email.toLowerCase())?.role).toBe('finance');
			const actions = (await tx.select().from(auditLog).where(eq(auditLog.tenantId, t.id))).map((r) => r.action).sort();
			expect(actions).toEqual(['invitation.accept', 'member.invite']);

			expect(await acceptInvitation({ ctx: { db: tx }, input: { token: inv.token, password: 'a good long password' } })).toMatchObject({
				ok: false,
				reason: 'invalid-link'
			});
			expect(await previewInvitation({ db: tx, token: inv.token })).toBeNull();
		});
	});

	it('an existing account proves itself with its password; expired, revoked and replaced links fail', async () => {
		await withRollback(stores.db, async (tx) => {
			const a = await createTestTenant(tx);
			const b = await createTestTenant(tx);
			const adminB = await createTestMember(tx, b.id, 'tenant_admin');
			const someone = await createTestMember(tx, a.id, 'viewer');
			const { caller } = await callerFor(tx, adminB.id, { activeTenantId: b.id });

			const first = await caller.members.invite({ email: someone.email, role: 'marketer' });
			const second = await caller.members.invite({ email: someone.email, role: 'viewer' });
			expect(await previewInvitation({ db: tx, token: first.token })).toBeNull();
			expect(await previewInvitation({ db: tx, token: second.token })).toMatchObject({ accountExists: true, role: 'viewer' });
			const later = new Date(Date.now() + INVITATION_TTL_MS + 1000);
			expect(await acceptInvitation({ ctx: { db: tx }, input: { token: second.token, password: TEST_PASSWORD }, now: later })).toMatchObject({
				reason: 'invalid-link'
			});
			expect(await acceptInvitation({ ctx: { db: tx }, input: { token: second.token, password: 'not my password' } })).toMatchObject({
				reason: 'wrong-password'
			});
			const ok = await acceptInvitation({ ctx: { db: tx }, input: { token: second.token, password: TEST_PASSWORD } });
			expect(ok.ok).toBe(true);
			const roles = await tx.select({ tenantId: membership.tenantId, role: membership.role }).from(membership).where(eq(membership.userId, someone.id));
			expect(roles).toEqual(expect.arrayContaining([{ tenantId: a.id, role: 'viewer' }, { tenantId: b.id, role: 'viewer' }]));

			const third = await caller.members.invite({ email: `x-${randomUUID()}@example.test`, role: 'viewer' });
			await caller.members.revokeInvitation({ invitationId: third.invitationId });
			expect(await previewInvitation({ db: tx, token: third.token })).toBeNull();
			expect(await codeOf(caller.members.invite({ email: someone.email, role: 'viewer' }))).toBe('CONFLICT');
		});
	});
});

describe('tenant resolution', () => {
	it('the x-voxcalls-tenant header picks a tenant the caller belongs to; any other is NOT_FOUND', async () => {
		await withRollback(stores.db, async (tx) => {
			const a = await createTestTenant(tx);
			const b = await createTestTenant(tx);
			const u = await createTestMember(tx, a.id, 'viewer');
			await tx.insert(membership).values({ tenantId: b.id, userId: u.id, role: 'tenant_admin' });
			const outsider = await createTestMember(tx, b.id, 'tenant_admin');

			const viaHeader = (await callerFor(tx, u.id, { activeTenantId: a.id, tenantSlug: b.slug })).caller;
			expect((await viaHeader.tenants.current()).id).toBe(b.id);
			expect(await codeOf(viaHeader.members.listInvitations())).toBe('ok'); // tenant admin in b
			const noHeader = (await callerFor(tx, u.id, { activeTenantId: a.id })).caller;
			expect(await codeOf(noHeader.members.listInvitations())).toBe('FORBIDDEN'); // viewer in a

			const intruder = (await callerFor(tx, outsider.id, { activeTenantId: b.id, tenantSlug: a.slug })).caller;
			expect(await codeOf(intruder.members.list())).toBe('NOT_FOUND');
			expect(await codeOf(intruder.auth.switchTenant({ tenantId: a.id }))).toBe('NOT_FOUND');
			const unknown = (await callerFor(tx, outsider.id, { tenantSlug: `no-such-${randomUUID().slice(0, 6)}` })).caller;
			expect(await codeOf(unknown.tenants.current())).toBe('NOT_FOUND');
			const none = (await callerFor(tx, outsider.id, { activeTenantId: null })).caller;
			expect(await codeOf(none.tenants.current())).toBe('FORBIDDEN');
		});
	});

	it('switching tenant is remembered by the session', async () => {
		await withRollback(stores.db, async (tx) => {
			const a = await createTestTenant(tx);
			const b = await createTestTenant(tx);
			const u = await createTestMember(tx, a.id, 'viewer');
			await tx.insert(membership).values({ tenantId: b.id, userId: u.id, role: 'marketer' });
			const { caller, token } = await callerFor(tx, u.id, { activeTenantId: a.id });
			await caller.auth.switchTenant({ tenantId: b.id });
			expect((await validateSessionToken(tx, token))?.session.activeTenantId).toBe(b.id);
			const fresh = createCaller((await signedInContextFromToken(tx, token)).ctx);
			const me = await fresh.auth.me();
			expect(me.activeTenant).toMatchObject({ id: b.id, role: 'marketer' });
			expect(me.activeTenant?.capabilities).toContain('campaigns:write');
			expect(me.tenants.map((t) => t.id).sort()).toEqual([a.id, b.id].sort());
		});
	});

	it('a suspended tenant locks its members out but loses nothing, and platform admins still get in', async () => {
		await withRollback(stores.db, async (tx) => {
			const t = await createTestTenant(tx);
			const admin = await createTestMember(tx, t.id, 'tenant_admin');
			await createTestMember(tx, t.id, 'viewer');
			const platform = await createTestUser(tx, { isPlatformAdmin: true });
			// A context is one request: the tenant is resolved once per context, so each step gets fresh callers.
			const p = async () => (await callerFor(tx, platform.id, { activeTenantId: t.id })).caller;
			const m = async () => (await callerFor(tx, admin.id, { activeTenantId: t.id })).caller;
			const before = await (await m()).members.list();

			await (await p()).tenants.suspend({ tenantId: t.id });
			const mm = await m();
			for (const call of [mm.members.list(), mm.tenants.current(), mm.audit.list(), mm.members.invite({ email: `late-${randomUUID()}@example.test`, role: 'viewer' })]) {
				expect(await codeOf(call)).toBe('FORBIDDEN');
			}
			expect(await (await p()).members.list()).toEqual(before);
			expect((await mm.auth.me()).activeTenant?.status).toBe('suspended');

			await (await p()).tenants.reactivate({ tenantId: t.id });
			expect(await (await m()).members.list()).toEqual(before);
			const actions = (await (await p()).audit.list({ action: 'tenant.', page: 1, pageSize: 10 })).rows.map((r) => r.action);
			expect(actions).toEqual(['tenant.reactivate', 'tenant.suspend']);
		});
	});
});

describe('audit', () => {
	it('records before/after of a platform change in its transaction, and filters by action and actor', async () => {
		await withRollback(stores.db, async (tx) => {
			const platform = await createTestUser(tx, { label: 'auditor', isPlatformAdmin: true });
			const { caller } = await callerFor(tx, platform.id);
			const slug = `audited-${randomUUID().slice(0, 8)}`;
			const created = await caller.tenants.create({ name: 'Audited Co', slug, timezone: 'Europe/Paris', defaultCountry: 'fr' });
			expect(created.defaultCountry).toBe('FR');
			expect(await codeOf(caller.tenants.create({ name: 'Again', slug, timezone: 'UTC', defaultCountry: 'US' }))).toBe('CONFLICT');
			expect(await codeOf(caller.tenants.create({ name: 'Bad tz', slug: `${slug}-2`, timezone: 'Mars/Olympus', defaultCountry: 'US' }))).toBe(
				'BAD_REQUEST'
			);
			await caller.tenants.update({ tenantId: created.id, name: 'Audited Company', timezone: 'Europe/Paris' });
			await caller.tenants.update({ tenantId: created.id, name: 'Audited Company' }); // no change, no row

			const all = await caller.audit.listAll({ tenantId: created.id, page: 1, pageSize: 10 });
			expect(all.total).toBe(2);
			expect(all.rows[0]).toMatchObject({
				action: 'tenant.update',
				actorLabel: platform.email,
				before: { name: 'Audited Co' },
				after: { name: 'Audited Company' }
			});
			expect(all.rows[1]).toMatchObject({ action: 'tenant.create', after: expect.objectContaining({ slug }) });
			expect((await caller.audit.listAll({ tenantId: created.id, action: 'tenant.create', page: 1, pageSize: 10 })).total).toBe(1);
			expect((await caller.audit.listAll({ tenantId: created.id, actor: 'auditor-', page: 1, pageSize: 10 })).total).toBe(2);
			expect((await caller.audit.listAll({ tenantId: created.id, actor: 'someone-else', page: 1, pageSize: 10 })).total).toBe(0);
			const [t] = await tx.select().from(tenant).where(eq(tenant.id, created.id));
			expect(t.name).toBe('Audited Company');
		});
	});

	it('an audit row never outlives a change that rolled back', async () => {
		await withRollback(stores.db, async (tx) => {
			const t = await createTestTenant(tx);
			const admin = await createTestMember(tx, t.id, 'tenant_admin');
			const target = await createTestMember(tx, t.id, 'viewer');
			const { caller, token } = await callerFor(tx, admin.id, { activeTenantId: t.id });
			// The verb runs inside an outer transaction (inTransaction reuses it) that then fails.
			await tx
				.transaction(async (sp) => {
					const inner = createCaller((await signedInContextFromToken(sp, token)).ctx);
					await inner.members.changeRole({ userId: target.id, role: 'marketer' });
					expect(await sp.select().from(auditLog).where(eq(auditLog.tenantId, t.id))).toHaveLength(1);
					throw new Error('abort after the change');
				})
				.catch(() => {});
			expect((await caller.members.list()).find((m) => m.userId === target.id)?.role).toBe('viewer');
			expect(await tx.select().from(auditLog).where(eq(auditLog.tenantId, t.id))).toEqual([]);
		});
	});
});

async function signedInContextFromToken(tx: Tx, token: string) {
	return { ctx: await createContextForSession({ db: tx, sessionToken: token }) };
}
