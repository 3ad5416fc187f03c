import { z } from 'zod';
import { TENANT_ROLES } from '../../auth/permissions';
import { inviteMember, listInvitations, revokeInvitation } from '../../services/invitations/index';
import { changeMemberRole, listMembers, removeMember } from '../../services/members/index';
import { router, tenantProcedure } from '../init';

const role = z.enum(TENANT_ROLES);
const inviteMemberInput = z.object({ email: z.email().trim().max(254), role });
const changeRoleInput = z.object({ userId: z.uuid(), role });
const removeMemberInput = z.object({ userId: z.uuid() });
const revokeInvitationInput = z.object({ invitationId: z.uuid() });

export const membersRouter = router({
	list: tenantProcedure('tenant:read').query(({ ctx }) => listMembers({ ctx })),
	listInvitations: tenantProcedure('members:manage').query(({ ctx }) => listInvitations({ ctx })),
	invite: tenantProcedure('members:manage')
		.input(inviteMemberInput)
		.mutation(({ ctx, input }) => inviteMember({ ctx, input })),
	changeRole: tenantProcedure('members:manage')
		.input(changeRoleInput)
		.mutation(({ ctx, input }) => changeMemberRole({ ctx, input })),
	remove: tenantProcedure('members:manage')
		.input(removeMemberInput)
		.mutation(({ ctx, input }) => removeMember({ ctx, input })),
	revokeInvitation: tenantProcedure('members:manage')
		.input(revokeInvitationInput)
		.mutation(({ ctx, input }) => revokeInvitation({ ctx, input }))
});
