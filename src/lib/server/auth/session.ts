import { DrizzlePostgreSQLAdapter } from '@lucia-auth/adapter-drizzle';
import { Lucia, TimeSpan, type Cookie } from 'lucia';
import { and, eq, ne } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { session as sessionTable, user as userTable } from '../db/schema/index';
import { env } from '../env';

// Lucia v3 sessions, kept behind this module: the rest of the app sees SessionUser / AuthSession only.
export const SESSION_COOKIE = 'voxcalls_session';

export interface SessionUser {
	id: string;
	email: string;
	isPlatformAdmin: boolean;
}

export interface AuthSession {
	id: string;
	userId: string;
	expiresAt: Date;
	/** Lucia extended the session on this request; the cookie must be re-sent. */
	fresh: boolean;
	activeTenantId: string | null;
}

export interface CookieSpec {
	name: string;
	value: string;
	attributes: { path: string; httpOnly: boolean; secure: boolean; sameSite: 'lax'; maxAge?: number; expires?: Date };
}

/** Secure cookies everywhere but local development and tests over plain http. */
export function sessionCookieSecure(e = env()): boolean {
	return e.NODE_ENV === 'production' || e.ORIGIN.startsWith('https:');
}

function createLucia(db: DbOrTx, secure: boolean) {
	// The adapter only runs plain queries on `db`, so a transaction handle works as well as the pool.
	return new Lucia(new DrizzlePostgreSQLAdapter(db as never, sessionTable, userTable), {
		sessionExpiresIn: new TimeSpan(30, 'd'),
		sessionCookie: { name: SESSION_COOKIE, attributes: { secure, sameSite: 'lax' } },
		getSessionAttributes: (a) => ({ activeTenantId: a.activeTenantId ?? null }),
		getUserAttributes: (a) => ({ email: a.email, isPlatformAdmin: a.isPlatformAdmin })
	});
}

declare module 'lucia' {
	interface Register {
		Lucia: ReturnType<typeof createLucia>;
		DatabaseSessionAttributes: { activeTenantId: string | null };
		DatabaseUserAttributes: { email: string; isPlatformAdmin: boolean };
	}
}

const instances = new WeakMap<object, ReturnType<typeof createLucia>>();
function lucia(db: DbOrTx) {
	let l = instances.get(db);
	if (!l) instances.set(db, (l = createLucia(db, sessionCookieSecure())));
	return l;
}

function toCookie(c: Cookie): CookieSpec {
	const a = c.attributes;
	return {
		name: c.name,
		value: c.value,
		attributes: { path: a.path ?? '/', httpOnly: true, secure: Boolean(a.secure), sameSite: 'lax', maxAge: a.maxAge, expires: a.expires }
	};
}

/** Starts a session and returns the cookie that carries it. */
export async function startSession(
	db: DbOrTx,
	userId: string,
	opts: { activeTenantId: string | null }
): Promise<{ session: AuthSession; cookie: CookieSpec }> {
	const l = lucia(db);
	const s = await l.createSession(userId, { activeTenantId: opts.activeTenantId });
	return { session: { ...s, activeTenantId: s.activeTenantId }, cookie: toCookie(l.createSessionCookie(s.id)) };
}

/**
 * Validates a session token (the cookie value). Returns null for an unknown or expired session; when the session
 * was extended, `session.fresh` is true and `cookie` must be sent again.
 */
export async function validateSessionToken(
	db: DbOrTx,
	token: string
): Promise<{ user: SessionUser; session: AuthSession; cookie: CookieSpec | null } | null> {
	const l = lucia(db);
	const { user, session } = await l.validateSession(token);
	if (!user || !session) return null;
	return {
		user: { id: user.id, email: user.email, isPlatformAdmin: user.isPlatformAdmin },
		session: { id: session.id, userId: session.userId, expiresAt: session.expiresAt, fresh: session.fresh, activeTenantId: session.activeTenantId },
		cookie: session.fresh ? toCookie(l.createSessionCookie(session.id)) : null
	};
}

export async function endSession(db: DbOrTx, sessionId: string): Promise<void> {
	await lucia(db).invalidateSession(sessionId);
}

/** Ends every session of a user (password change, removal from a tenant), optionally keeping one. */
export async function endUserSessions(db: DbOrTx, userId: string, opts: { except?: string } = {}): Promise<void> {
	if (!opts.except) return lucia(db).invalidateUserSessions(userId);
	await db.delete(sessionTable).where(and(eq(sessionTable.userId, userId), ne(sessionTable.id, opts.except)));
}

export function blankSessionCookie(): CookieSpec {
	return toCookie(lucia(placeholderDb).createBlankSessionCookie());
}

// Building a blank cookie touches no database; any object serves as the WeakMap key.
const placeholderDb = {} as DbOrTx;

export async function setSessionActiveTenant(db: DbOrTx, sessionId: string, tenantId: string): Promise<void> {
	await db.update(sessionTable).set({ activeTenantId: tenantId }).where(eq(sessionTable.id, sessionId));
}
