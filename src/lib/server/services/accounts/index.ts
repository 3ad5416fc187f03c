import { and, asc, eq } from 'drizzle-orm';
import { burnPasswordCheck, hashPassword, normalizeEmail, passwordProblem, verifyPassword } from '../../auth/password';
import { capabilitiesOf, type Capability, type EffectiveRole } from '../../auth/permissions';
import { endSession, endUserSessions, setSessionActiveTenant, startSession, type CookieSpec } from '../../auth/session';
import { countSignInAttempt, forgiveSignInAttempt, pruneSignInThrottle, type ThrottlePolicy } from '../../auth/throttle';
import { inTransaction, type DbOrTx } from '../../db/client';
import { membership, tenant, user } from '../../db/schema/index';
import { DomainError } from '../../errors';
import { recordAudit } from '../audit/index';
import type { ServiceCtx, TenantRef } from '../context';

/** The one message for an unknown email and a wrong password alike. */
export const SIGN_IN_FAILED = 'Wrong email or password.';

export type SignInResult =
	| { ok: true; userId: string; cookie: CookieSpec }
	| { ok: false; reason: 'invalid'; message: string }
	| { ok: false; reason: 'throttled'; message: string; retryAfterSeconds: number };

/**
 * Checks the credentials and starts a session in the user's first tenant. Attempts are counted per account and
 * per address before the password is checked; an unknown email costs the same argon2 work as a wrong password.
 */
export async function signIn({
	ctx,
	input,
	now = new Date(),
	policy
}: {
	ctx: Pick<ServiceCtx, 'db' | 'requestIp'>;
	input: { email: string; password: string };
	now?: Date;
	policy?: ThrottlePolicy;
}): Promise<SignInResult> {
	const email = normalizeEmail(input.email);
	const ip = ctx.requestIp ?? null;
	if (Math.random() < 0.01) await pruneSignInThrottle(ctx.db, now, policy);
	const verdict = await countSignInAttempt(ctx.db, { email, ip, now, policy });
	if (!verdict.allowed) {
		const minutes = Math.ceil(verdict.retryAfterSeconds / 60);
		return {
			ok: false,
			reason: 'throttled',
			retryAfterSeconds: verdict.retryAfterSeconds,
			message: `Too many sign-in attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`
		};
	}
	const [account] = await ctx.db.select().from(user).where(eq(user.email, email));
	if (!account) {
		await burnPasswordCheck(input.password);
		return { ok: false, reason: 'invalid', message: SIGN_IN_FAILED };
	}
	if (!(await verifyPassword(account.passwordHash, input.password))) return { ok: false, reason: 'invalid', message: SIGN_IN_FAILED };
	await forgiveSignInAttempt(ctx.db, { email, ip });
	const activeTenantId = await defaultTenantFor(ctx.db, account);
	const { cookie } = await startSession(ctx.db, account.id, { activeTenantId });
	return { ok: true, userId: account.id, cookie };
}

/** The tenant a fresh session opens in: the first membership by name; for platform admins, any first tenant. */
async function defaultTenantFor(db: DbOrTx, account: { id: string; isPlatformAdmin: boolean }): Promise<string | null> {
	const [m] = await db
		.select({ id: tenant.id })
		.from(membership)
		.innerJoin(tenant, eq(tenant.id, membership.tenantId))
		.where(eq(membership.userId, account.id))
		.orderBy(asc(tenant.name))
		.limit(1);
	if (m || !account.isPlatformAdmin) return m?.id ?? null;
	const [first] = await db.select({ id: tenant.id }).from(tenant).orderBy(asc(tenant.name)).limit(1);
	return first?.id ?? null;
}

export async function signOut({ ctx }: { ctx: { db: DbOrTx; sessionId: string } }): Promise<void> {
	await endSession(ctx.db, ctx.sessionId);
}

export type ChangePasswordResult = { ok: true; cookie: CookieSpec } | { ok: false; field: 'currentPassword' | 'newPassword'; message: string };

/** Ends every session of the user (this one too) and starts a fresh one for this browser. */
export async function changePassword({
	ctx,
	input
}: {
	ctx: ServiceCtx & { activeTenantId: string | null };
	input: { currentPassword: string; newPassword: string };
}): Promise<ChangePasswordResult> {
	if (ctx.actor.kind !== 'user') throw new DomainError('FORBIDDEN', 'Only a signed-in user can change a password');
	const userId = ctx.actor.userId;
	const problem = passwordProblem(input.newPassword);
	if (problem) return { ok: false, field: 'newPassword', message: problem };
	return inTransaction(ctx.db, async (tx): Promise<ChangePasswordResult> => {
		const [account] = await tx.select().from(user).where(eq(user.id, userId)).for('update');
		if (!account || !(await verifyPassword(account.passwordHash, input.currentPassword))) {
			return { ok: false, field: 'currentPassword', message: 'That is not your current password.' };
		}
		await tx
			.update(user)
			.set({ passwordHash: await hashPassword(input.newPassword), passwordChangedAt: new Date() })
			.where(eq(user.id, userId));
		await endUserSessions(tx, userId);
		await recordAudit(tx, ctx, { tenantId: null, action: 'account.password_change', targetType: 'user', targetId: userId });
		const { cookie } = await startSession(tx, userId, { activeTenantId: ctx.activeTenantId });
		return { ok: true, cookie };
	});
}

export interface TenantChoice extends TenantRef {
	role: EffectiveRole;
}

export interface AccountView {
	user: { id: string; email: string; isPlatformAdmin: boolean };
	/** Tenants the user can switch to: their memberships, or every tenant for a platform admin. */
	tenants: TenantChoice[];
	activeTenant: (TenantChoice & { capabilities: Capability[] }) | null;
}

/** Who is signed in, where they can go, and what they may do in the active tenant. */
export async function describeAccount({
	ctx
}: {
	ctx: { db: DbOrTx; user: { id: string; email: string; isPlatformAdmin: boolean }; activeTenantId: string | null };
}): Promise<AccountView> {
	const cols = {
		id: tenant.id,
		name: tenant.name,
		slug: tenant.slug,
		timezone: tenant.timezone,
		defaultCountry: tenant.defaultCountry,
		status: tenant.status
	};
	let tenants: TenantChoice[];
	if (ctx.user.isPlatformAdmin) {
		const rows = await ctx.db.select(cols).from(tenant).orderBy(asc(tenant.name));
		tenants = rows.map((t) => ({ ...t, role: 'platform_admin' as const }));
	} else {
		tenants = await ctx.db
			.select({ ...cols, role: membership.role })
			.from(membership)
			.innerJoin(tenant, eq(tenant.id, membership.tenantId))
			.where(eq(membership.userId, ctx.user.id))
			.orderBy(asc(tenant.name));
	}
	const active = tenants.find((t) => t.id === ctx.activeTenantId) ?? null;
	return {
		user: { id: ctx.user.id, email: ctx.user.email, isPlatformAdmin: ctx.user.isPlatformAdmin },
		tenants,
		activeTenant: active ? { ...active, capabilities: capabilitiesOf(active.role) } : null
	};
}

/** Makes another tenant the session's active one. A tenant the user cannot enter is NOT_FOUND. */
export async function switchTenant({
	ctx,
	input
}: {
	ctx: { db: DbOrTx; user: { id: string; isPlatformAdmin: boolean }; sessionId: string };
	input: { tenantId: string };
}): Promise<{ tenantId: string; slug: string }> {
	const [row] = await ctx.db
		.select({ id: tenant.id, slug: tenant.slug, role: membership.role })
		.from(tenant)
		.leftJoin(membership, and(eq(membership.tenantId, tenant.id), eq(membership.userId, ctx.user.id)))
		.where(eq(tenant.id, input.tenantId));
	if (!row || (!row.role && !ctx.user.isPlatformAdmin)) throw new DomainError('NOT_FOUND', 'Tenant not found');
	await setSessionActiveTenant(ctx.db, ctx.sessionId, row.id);
	return { tenantId: row.id, slug: row.slug };
}

/** Creates an account directly (demo seeding, platform bootstrap); people normally arrive by invitation. */
export async function createUser({
	ctx,
	input
}: {
	ctx: ServiceCtx;
	input: { email: string; password?: string; passwordHash?: string; isPlatformAdmin?: boolean };
}): Promise<{ id: string; email: string }> {
	const email = normalizeEmail(input.email);
	const passwordHash = input.passwordHash ?? (input.password ? await hashPassword(input.password) : null);
	if (!passwordHash) throw new DomainError('BAD_INPUT', 'A password is required');
	return inTransaction(ctx.db, async (tx) => {
		const [row] = await tx
			.insert(user)
			.values({ email, passwordHash, isPlatformAdmin: input.isPlatformAdmin ?? false })
			.onConflictDoNothing({ target: user.email })
			.returning({ id: user.id, email: user.email });
		if (!row) throw new DomainError('CONFLICT', `${email} already has an account`);
		await recordAudit(tx, ctx, {
			tenantId: null,
			action: 'account.create',
			targetType: 'user',
			targetId: row.id,
			after: { email, isPlatformAdmin: input.isPlatformAdmin ?? false }
		});
		return row;
	});
}

