import { z } from 'zod';
import { describeAccount, switchTenant } from '../../services/accounts/index';
import { authedProcedure, router } from '../init';

// Sign-in, sign-out, invitation acceptance and password changes set cookies, so they are form actions
// (src/routes/login, logout, invite, account) over services/accounts and services/invitations.

const switchTenantInput = z.object({ tenantId: z.uuid() });

export const authRouter = router({
	me: authedProcedure.query(({ ctx }) => describeAccount({ ctx: { db: ctx.db, user: ctx.user, activeTenantId: ctx.activeTenantId } })),
	switchTenant: authedProcedure
		.input(switchTenantInput)
		.mutation(({ ctx, input }) => switchTenant({ ctx: { db: ctx.db, user: ctx.user, sessionId: ctx.session.id }, input }))
});
