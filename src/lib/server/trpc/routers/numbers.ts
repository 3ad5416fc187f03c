import { z } from 'zod';
import {
	assignNumber,
	buyNumber,
	claimNumber,
	giveBackNumber,
	listNumbers,
	listTenantNumbers,
	releaseNumber,
	retryNumber,
	searchAvailableNumbers
} from '../../services/numbers/index';
import { latestReconcileReport, reconcileNumbers } from '../../services/numbers/reconcile';
import { listTwilioAccounts, saveTwilioAccount, testTwilioAccount } from '../../services/numbers/twilio-accounts';
import { platformAdminProcedure, router, tenantProcedure } from '../init';

// The phone-number pool: platform admins buy, assign and release; tenant admins claim and give back.

const numberId = z.uuid();
const e164 = z.string().trim().regex(/^\+[1-9]\d{6,14}$/, 'A number in E.164 form, e.g. +14155550123');

const listNumbersInput = z.object({ includeReleased: z.boolean().optional(), tenantId: z.uuid().optional(), search: z.string().trim().max(20).optional() }).optional();
const searchNumbersInput = z.object({
	twilioAccountId: z.uuid(),
	country: z.string().trim().regex(/^[A-Z]{2}$/, 'A two-letter country code'),
	areaCode: z.number().int().min(100).max(999).optional(),
	contains: z.string().trim().regex(/^[0-9*]{1,10}$/, 'Digits (and * as a wildcard)').optional(),
	limit: z.number().int().min(1).max(50).optional()
});
const buyNumberInput = z.object({ twilioAccountId: z.uuid(), connectionId: z.uuid(), e164, friendlyName: z.string().trim().max(64).optional() });
const assignNumberInput = z.object({
	numberId,
	tenantId: z.uuid().nullable(),
	agentId: z.string().trim().min(1).max(200).nullable(),
	campaignTracking: z.boolean().optional()
});
const releaseNumberInput = z.object({ numberId, confirmE164: z.string().trim().max(20) });
const numberIdInput = z.object({ numberId });
const saveTwilioAccountInput = z.object({
	twilioAccountId: z.uuid().optional(),
	name: z.string().trim().min(2).max(80),
	accountSid: z.string().trim().regex(/^AC[0-9a-fA-F]{32}$/, 'An account SID: AC followed by 32 hex digits'),
	authToken: z.string().trim().min(8).max(128).optional(),
	baseUrl: z.url({ protocol: /^https?$/ }).optional()
});
const claimNumberInput = z.object({ numberId, agentId: z.string().trim().min(1).max(200).nullable().optional() });

export const numbersRouter = router({
	list: platformAdminProcedure.input(listNumbersInput).query(({ ctx, input }) => listNumbers({ ctx, input })),
	search: platformAdminProcedure.input(searchNumbersInput).query(({ ctx, input }) => searchAvailableNumbers({ ctx, input })),
	buy: platformAdminProcedure.input(buyNumberInput).mutation(({ ctx, input }) => buyNumber({ ctx, input })),
	assign: platformAdminProcedure.input(assignNumberInput).mutation(({ ctx, input }) => assignNumber({ ctx, input })),
	release: platformAdminProcedure.input(releaseNumberInput).mutation(({ ctx, input }) => releaseNumber({ ctx, input })),
	retry: platformAdminProcedure.input(numberIdInput).mutation(({ ctx, input }) => retryNumber({ ctx, input })),
	drift: platformAdminProcedure.query(({ ctx }) => latestReconcileReport({ ctx })),
	reconcile: platformAdminProcedure.mutation(({ ctx }) => reconcileNumbers({ ctx })),
	twilioAccounts: router({
		list: platformAdminProcedure.query(({ ctx }) => listTwilioAccounts({ ctx })),
		save: platformAdminProcedure.input(saveTwilioAccountInput).mutation(({ ctx, input }) => saveTwilioAccount({ ctx, input })),
		test: platformAdminProcedure.input(z.object({ twilioAccountId: z.uuid() })).mutation(({ ctx, input }) => testTwilioAccount({ ctx, input }))
	})
});

export const tenantNumbersRouter = router({
	list: tenantProcedure('settings:write').query(({ ctx }) => listTenantNumbers({ ctx })),
	claim: tenantProcedure('settings:write').input(claimNumberInput).mutation(({ ctx, input }) => claimNumber({ ctx, input })),
	giveBack: tenantProcedure('settings:write').input(numberIdInput).mutation(({ ctx, input }) => giveBackNumber({ ctx, input }))
});
