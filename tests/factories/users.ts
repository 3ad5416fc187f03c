import { randomUUID } from 'node:crypto';
import { hashPassword } from '../../src/lib/server/auth/password';
import type { TenantRole } from '../../src/lib/server/auth/permissions';
import { startSession } from '../../src/lib/server/auth/session';
import type { DbOrTx } from '../../src/lib/server/db/client';
import { membership, user } from '../../src/lib/server/db/schema/index';
import { createContextForSession, type Context } from '../../src/lib/server/trpc/init';

/** Every factory user has this password; its argon2id hash is computed once per test file. */
export const TEST_PASSWORD = 'factory-password-1';
let hashed: Promise<string> | undefined;
export const testPasswordHash = () => (hashed ??= hashPassword(TEST_PASSWORD));

export type TestUser = typeof user.$inferSelect;

/** A fresh user with a unique email (`<label>-<random>@example.test`). */
export async function createTestUser(
	db: DbOrTx,
	opts: { label?: string; email?: string; isPlatformAdmin?: boolean; password?: string } = {}
): Promise<TestUser> {
	const email = opts.email ?? `${opts.label ?? 'user'}-${randomUUID().slice(0, 8)}@example.test`;
	const passwordHash = opts.password ? await hashPassword(opts.password) : await testPasswordHash();
	const [row] = await db
		.insert(user)
		.values({ email: email.toLowerCase(), passwordHash, isPlatformAdmin: opts.isPlatformAdmin ?? false })
		.returning();
	return row;
}

export async function addMembership(db: DbOrTx, tenantId: string, userId: string, role: TenantRole) {
	await db.insert(membership).values({ tenantId, userId, role });
}

/** A user who belongs to `tenantId` with `role`. */
export async function createTestMember(db: DbOrTx, tenantId: string, role: TenantRole, opts: { label?: string } = {}) {
	const u = await createTestUser(db, { label: opts.label ?? role.replace('_', '-') });
	await addMembership(db, tenantId, u.id, role);
	return u;
}

/**
 * A real session for the user and the tRPC context a request carrying its cookie would get: the same
 * validation path as hooks.server.ts, no test-only branches.
 */
export async function signedInContext(
	db: DbOrTx,
	userId: string,
	opts: { activeTenantId?: string | null; tenantSlug?: string | null; requestIp?: string } = {}
): Promise<{ token: string; ctx: Context }> {
	const { session } = await startSession(db, userId, { activeTenantId: opts.activeTenantId ?? null });
	const ctx = await createContextForSession({
		db,
		sessionToken: session.id,
		requestIp: opts.requestIp ?? '198.51.100.7',
		requestedTenantSlug: opts.tenantSlug
	});
	return { token: session.id, ctx };
}

export function anonymousContext(db: DbOrTx): Promise<Context> {
	return createContextForSession({ db, sessionToken: null, requestIp: '198.51.100.8' });
}
