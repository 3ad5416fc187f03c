import { lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { env } from '../env';
import { signInThrottle } from '../db/schema/index';

// Sign-in throttling in PostgreSQL, so every web process shares one count. Each attempt is counted *before* the
// password is checked (one atomic upsert per key), so a burst of parallel guesses cannot slip past the limit.
// A success clears the account's count and gives the attempt back to the address.
export interface ThrottlePolicy {
	windowMs: number;
	maxPerAccount: number;
	maxPerIp: number;
}

let cached: ThrottlePolicy | undefined;
/** The policy from the configuration (15 minutes, 5 per account, 30 per address unless configured). */
export function throttlePolicy(): ThrottlePolicy {
	if (cached) return cached;
	const e = env();
	cached = {
		windowMs: e.SIGN_IN_THROTTLE_WINDOW_SECONDS * 1000,
		maxPerAccount: e.SIGN_IN_MAX_ATTEMPTS_PER_ACCOUNT,
		maxPerIp: e.SIGN_IN_MAX_ATTEMPTS_PER_IP
	};
	return cached;
}

export const accountKey = (email: string) => `account:${email}`;
export const ipKey = (ip: string) => `ip:${ip}`;

async function countAttempt(db: DbOrTx, key: string, now: Date, windowMs: number) {
	// drizzle's postgres-js driver passes raw values untouched, so times go in as ISO text with an explicit cast.
	const windowOpen = sql`${new Date(now.getTime() - windowMs).toISOString()}::timestamptz`;
	const at = sql`${now.toISOString()}::timestamptz`;
	const [row] = await db
		.insert(signInThrottle)
		.values({ key, failures: 1, windowStartedAt: now })
		.onConflictDoUpdate({
			target: signInThrottle.key,
			set: {
				failures: sql`case when ${signInThrottle.windowStartedAt} <= ${windowOpen} then 1 else ${signInThrottle.failures} + 1 end`,
				windowStartedAt: sql`case when ${signInThrottle.windowStartedAt} <= ${windowOpen} then ${at} else ${signInThrottle.windowStartedAt} end`
			}
		})
		.returning();
	return row;
}

export type AttemptVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Counts one sign-in attempt for the account and the address; refuses it when either is over its limit. */
export async function countSignInAttempt(
	db: DbOrTx,
	args: { email: string; ip: string | null; now?: Date; policy?: ThrottlePolicy }
): Promise<AttemptVerdict> {
	const now = args.now ?? new Date();
	const policy = args.policy ?? throttlePolicy();
	const checks: { key: string; max: number }[] = [{ key: accountKey(args.email), max: policy.maxPerAccount }];
	if (args.ip) checks.push({ key: ipKey(args.ip), max: policy.maxPerIp });
	let retryAfterMs = 0;
	for (const c of checks) {
		const row = await countAttempt(db, c.key, now, policy.windowMs);
		if (row.failures > c.max) {
			retryAfterMs = Math.max(retryAfterMs, row.windowStartedAt.getTime() + policy.windowMs - now.getTime());
		}
	}
	if (retryAfterMs > 0) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
	return { allowed: true };
}

/** After a successful sign-in: the account starts afresh and the attempt does not count against the address. */
export async function forgiveSignInAttempt(db: DbOrTx, args: { email: string; ip: string | null }): Promise<void> {
	await db.delete(signInThrottle).where(sql`${signInThrottle.key} = ${accountKey(args.email)}`);
	if (args.ip) {
		await db
			.update(signInThrottle)
			.set({ failures: sql`greatest(${signInThrottle.failures} - 1, 0)` })
			.where(sql`${signInThrottle.key} = ${ipKey(args.ip)}`);
	}
}

/** Drops counts whose window has closed (attempts against random emails would otherwise pile up). */
export async function pruneSignInThrottle(db: DbOrTx, now = new Date(), policy = throttlePolicy()): Promise<void> {
	await db.delete(signInThrottle).where(lt(signInThrottle.windowStartedAt, new Date(now.getTime() - policy.windowMs)));
}
