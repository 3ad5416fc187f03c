import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { hashPassword, normalizeEmail, passwordProblem, verifyPassword } from '../../auth/password';
import type { TenantRole } from '../../auth/permissions';
import { startSession, type CookieSpec } from '../../auth/session';
import { composeToken, generateSecret, hashSecret, parseToken, secretMatches } from '../../auth/tokens';
import { inTransaction, type DbOrTx } from '../../db/client';
import { invitation, membership, tenant, user } from '../../db/schema/index';
import { DomainError } from '../../errors';
import { recordAudit } from '../audit/index';
import { userActor, type ServiceCtx, type TenantServiceCtx } from '../context';
import { fetchTenantOwnedOrThrow } from '../scoped';

export const INVITATION_TTL_MS = 7 * 24 * 3600 * 1000;

export interface InvitationRow {
	id: string;
	email: string;
	role: TenantRole;
	invitedBy: string | null;
	createdAt: Date;
	expiresAt: Date;
	expired: boolean;
}

/**
 * Invites someone into the caller's tenant. The returned token is the only copy (the row stores its hash): the
 * admin passes the link on. Re-inviting the same address revokes the earlier, unused link.
 */
export async function inviteMember({
	ctx,
	input,
	now = new Date()
}: {
	ctx: TenantServiceCtx;
	input: { email: string; role: TenantRole };
	now?: Date;
}): Promise<{ invitationId: string; token: string; path: string; expiresAt: Date }> {
	const email = normalizeEmail(input.email);
	return inTransaction(ctx.db, async (tx) => {
		const [existing] = await tx
			.select({ userId: membership.userId })
			.from(membership)
			.innerJoin(user, eq(user.id, membership.userId))
			.where(and(eq(membership.tenantId, ctx.tenant.id), eq(user.email, email)));
		if (existing) throw new DomainError('CONFLICT', `${email} is already a member`);
		const revoked = await tx
			.update(invitation)
			.set({ revokedAt: now })
			.where(and(eq(invitation.tenantId, ctx.tenant.id), eq(invitation.email, email), isNull(invitation.acceptedAt), isNull(invitation.revokedAt)))
			.returning({ id: invitation.id, role: invitation.role });
		const secret = generateSecret();
		const expiresAt = new Date(now.getTime() + INVITATION_TTL_MS);
		const [row] = await tx
			.insert(invitation)
			.values({
				tenantId: ctx.tenant.id,
				email,
				role: input.role,
				tokenHash: hashSecret(secret),
				invitedByUserId: ctx.actor.kind === 'user' ? ctx.actor.userId : null,
				expiresAt,
				createdAt: now
			})
			.returning({ id: invitation.id });
		await recordAudit(tx, ctx, {
			tenantId: ctx.tenant.id,
			action: 'member.invite',
			targetType: 'invitation',
			targetId: row.id,
			before: revoked.length ? { replacedInvitationId: revoked[0].id, role: revoked[0].role } : null,
			after: { email, role: input.role, expiresAt: expiresAt.toISOString() }
		});
		const token = composeToken(row.id, secret);
		return { invitationId: row.id, token, path: `/invite/${token}`, expiresAt };
	});
}

/** Open (not accepted, not revoked) invitations of the caller's tenant; never the token hash. */
export async function listInvitations({ ctx, now = new Date() }: { ctx: TenantServiceCtx; now?: Date }): Promise<InvitationRow[]> {
	const rows = await ctx.db
		.select({
			id: invitation.id,
			email: invitation.email,
			role: invitation.role,
			invitedBy: user.email,
			createdAt: invitation.createdAt,
			expiresAt: invitation.expiresAt
		})
		.from(invitation)
		.leftJoin(user, eq(user.id, invitation.invitedByUserId))
		.where(and(eq(invitation.tenantId, ctx.tenant.id), isNull(invitation.acceptedAt), isNull(invitation.revokedAt)))
		.orderBy(asc(invitation.email));
	return rows.map((r) => ({ ...r, expired: r.expiresAt.getTime() <= now.getTime() }));
}

export async function revokeInvitation({ ctx, input }: { ctx: TenantServiceCtx; input: { invitationId: string } }): Promise<{ revoked: true }> {
	return inTransaction(ctx.db, async (tx) => {
		const inv = await fetchTenantOwnedOrThrow(tx, invitation, ctx.tenant.id, eq(invitation.id, input.invitationId), 'Invitation', {
			forUpdate: true
		});
		if (inv.acceptedAt || inv.revokedAt) throw new DomainError('CONFLICT', 'That invitation is no longer open');
		await tx.update(invitation).set({ revokedAt: sql`now()` }).where(eq(invitation.id, inv.id));
		await recordAudit(tx, ctx, {
			tenantId: ctx.tenant.id,
			action: 'invitation.revoke',
			targetType: 'invitation',
			targetId: inv.id,
			before: { email: inv.email, role: inv.role },
			after: null
		});
		return { revoked: true as const };
	});
}

async function findOpenInvitation(db: DbOrTx, token: string, now: Date, opts: { forUpdate?: boolean } = {}) {
	const parsed = parseToken(token);
	if (!parsed) return null;
	const q = db
		.select({ inv: invitation, tenantName: tenant.name, tenantStatus: tenant.status })
		.from(invitation)
		.innerJoin(tenant, eq(tenant.id, invitation.tenantId))
		.where(eq(invitation.id, parsed.id));
	const [row] = await (opts.forUpdate ? q.for('update', { of: invitation }) : q);
	if (!row || !secretMatches(parsed.secret, row.inv.tokenHash)) return null;
	if (row.inv.acceptedAt || row.inv.revokedAt || row.inv.expiresAt.getTime() <= now.getTime()) return null;
	return row;
}

export interface InvitationPreview {
	tenantName: string;
	email: string;
	role: TenantRole;
	/** The address already has an account: accepting asks for its password instead of a new one. */
	accountExists: boolean;
	expiresAt: Date;
}

/** What the accept page shows; null for any link that is unknown, used, revoked or expired (one message). */
export async function previewInvitation({ db, token, now = new Date() }: { db: DbOrTx; token: string; now?: Date }): Promise<InvitationPreview | null> {
	const row = await findOpenInvitation(db, token, now);
	if (!row) return null;
	const [u] = await db.select({ id: user.id }).from(user).where(eq(user.email, row.inv.email));
	return { tenantName: row.tenantName, email: row.inv.email, role: row.inv.role, accountExists: Boolean(u), expiresAt: row.inv.expiresAt };
}

export type AcceptResult =
	| { ok: true; userId: string; tenantId: string; cookie: CookieSpec }
	| { ok: false; reason: 'invalid-link' | 'wrong-password' | 'weak-password'; message: string };

/**
 * Accepts an invitation: a new address sets its password, an existing account proves it with its password. The
 * membership, the invitation's use and the audit row commit together; a session in the tenant is started.
 */
export async function acceptInvitation({
	ctx,
	input,
	now = new Date()
}: {
	ctx: Pick<ServiceCtx, 'db' | 'requestIp'>;
	input: { token: string; password: string };
	now?: Date;
}): Promise<AcceptResult> {
	return inTransaction(ctx.db, async (tx): Promise<AcceptResult> => {
		const row = await findOpenInvitation(tx, input.token, now, { forUpdate: true });
		if (!row) return { ok: false, reason: 'invalid-link', message: 'This invitation link is not valid any more. Ask for a new one.' };
		const inv = row.inv;
		const [existing] = await tx.select().from(user).where(eq(user.email, inv.email));
		let account: { id: string; email: string; isPlatformAdmin: boolean };
		if (existing) {
			if (!(await verifyPassword(existing.passwordHash, input.password))) {
				return { ok: false, reason: 'wrong-password', message: 'That is not the password of this account.' };
			}
			account = existing;
		} else {
			const problem = passwordProblem(input.password);
			if (problem) return { ok: false, reason: 'weak-password', message: problem };
			const [created] = await tx
				.insert(user)
				.values({ email: inv.email, passwordHash: await hashPassword(input.password) })
				.returning();
			account = created;
		}
		await tx.insert(membership).values({ tenantId: inv.tenantId, userId: account.id, role: inv.role }).onConflictDoNothing();
		await tx.update(invitation).set({ acceptedAt: now }).where(eq(invitation.id, inv.id));
		await recordAudit(
			tx,
			{ db: tx, actor: userActor(account), requestIp: ctx.requestIp },
			{
				tenantId: inv.tenantId,
				action: 'invitation.accept',
				targetType: 'invitation',
				targetId: inv.id,
				before: null,
				after: { email: inv.email, role: inv.role, newAccount: !existing }
			}
		);
		const { cookie } = await startSession(tx, account.id, { activeTenantId: inv.tenantId });
		return { ok: true, userId: account.id, tenantId: inv.tenantId, cookie };
	});
}
