import { z } from 'zod';
import { isIsoDay } from '../../../days';
import { KNOWN_CONVERSATION_STATUSES } from '../../elevenlabs/types';
import { listCalls, summarizeCalls } from '../../services/calls/index';
import { router, tenantProcedure } from '../init';

// Dates are local days in the tenant's timezone; the service resolves defaults and checks the span (BAD_INPUT).
const isoDay = z.string().refine(isIsoDay, { message: 'expected a date as YYYY-MM-DD' });
const callRange = { from: isoDay.optional(), to: isoDay.optional() };

const summarizeCallsInput = z.object(callRange).default({});
const listCallsInput = z
	.object({
		...callRange,
		search: z.string().trim().max(100).optional(),
		status: z.enum(KNOWN_CONVERSATION_STATUSES).optional(),
		page: z.number().int().min(1).max(100_000).default(1),
		pageSize: z.number().int().min(1).max(200).default(25)
	})
	.default({ page: 1, pageSize: 25 });

export const callsRouter = router({
	summary: tenantProcedure('tenant:read')
		.input(summarizeCallsInput)
		.query(({ ctx, input }) => summarizeCalls({ ctx, input })),
	list: tenantProcedure('tenant:read')
		.input(listCallsInput)
		.query(({ ctx, input }) => listCalls({ ctx, input }))
});
