import { and, asc, eq } from 'drizzle-orm';
import { endUserSessions } from '../../auth/session';
import type { TenantRole } from '../../auth/permissions';
import { inTransaction, type DbOrTx } from '../../db/client';
import { membership, user } from '../../db/schema/index';
import { DomainError } from '../../errors';
import { recordAudit } from '../audit/index';
import type { TenantServiceCtx } from '../context';
import { fetchTenantOwnedOrThrow } from '../scoped';

export interface MemberRow {
	userId: string;
	email: string;
	role: TenantRole;
	joinedAt: Date;
}

export async function listMembers({ ctx }: { ctx: TenantServiceCtx }): Promise<MemberRow[]> {
	return ctx.db
		.select({ userId: membership.userId, email: user.email, role: membership.role, joinedAt: membership.createdAt })
		.from(membership)
		.innerJoin(user, eq(user.id, membership.userId))
		.where(eq(membership.tenantId, ctx.tenant.id))
		.orderBy(asc(user.email));
}

async function lockMembership(tx: DbOrTx, tenantId: string, userId: string) {
	const m = await fetchTenantOwnedOrThrow(tx, membership, tenantId, eq(membership.userId, userId), 'Member', { forUpdate: true });
	const [u] = await tx.select({ email: user.email }).from(user).where(eq(user.id, userId));
	return { ...m, email: u.email };
}

/** A tenant must keep at least one tenant admin, or nobody could manage its people again. */
async function assertAnotherAdminRemains(tx: DbOrTx, tenantId: string) {
	// Lock the tenant's admin rows so two concurrent demotions cannot both see "one other admin left".
	const admins = await tx
		.select({ userId: membership.userId })
		.from(membership)
		.where(and(eq(membership.tenantId, tenantId), eq(membership.role, 'tenant_admin')))
		.for('update');
	if (admins.length <= 1) throw new DomainError('CONFLICT', 'A tenant needs at least one tenant admin');
}

export async function changeMemberRole({
	ctx,
	input
}: {
	ctx: TenantServiceCtx;
	input: { userId: string; role: TenantRole };
}): Promise<MemberRow> {
	return inTransaction(ctx.db, async (tx) => {
		const m = await lockMembership(tx, ctx.tenant.id, input.userId);
		if (m.role === input.role) return { userId: m.userId, email: m.email, role: m.role, joinedAt: m.createdAt };
		if (m.role === 'tenant_admin') await assertAnotherAdminRemains(tx, ctx.tenant.id);
		await tx
			.update(membership)
			.set({ role: input.role })
			.where(and(eq(membership.tenantId, ctx.tenant.id), eq(membership.userId, input.userId)));
		await recordAudit(tx, ctx, {
			tenantId: ctx.tenant.id,
			action: 'member.role_change',
			targetType: 'user',
			targetId: m.userId,
			before: { email: m.email, role: m.role },
			after: { email: m.email, role: input.role }
		});
		return { userId: m.userId, email: m.email, role: input.role, joinedAt: m.createdAt };
	});
}

/** Removes the member and ends every session they have, in the same transaction as the audit row. */
export async function removeMember({ ctx, input }: { ctx: TenantServiceCtx; input: { userId: string } }): Promise<{ removed: true }> {
	return inTransaction(ctx.db, async (tx) => {
		const m = await lockMembership(tx, ctx.tenant.id, input.userId);
		if (m.role === 'tenant_admin') await assertAnotherAdminRemains(tx, ctx.tenant.id);
		await tx.delete(membership).where(and(eq(membership.tenantId, ctx.tenant.id), eq(membership.userId, input.userId)));
		await endUserSessions(tx, input.userId);
		await recordAudit(tx, ctx, {
			tenantId: ctx.tenant.id,
			action: 'member.remove',
			targetType: 'user',
			targetId: m.userId,
			before: { email: m.email, role: m.role },
			after: null
		});
		return { removed: true as const };
	});
}
