import { z } from 'zod';
import { BILLING_ROUNDINGS } from '../../db/schema/index';
import {
	closeMonth,
	exportAllTenantsMinutes,
	exportTenantMinutes,
	getAnyStatement,
	getTenantMonth,
	getTenantStatement,
	listAllStatements,
	listTenantBillingRules,
	listTenantStatements,
	platformOverview,
	reopenStatement,
	saveBillingRule,
	setCreditRate,
	setTelephonyRate
} from '../../services/finance/index';
import { reconcileTenantMonth } from '../../services/finance/reconcile';
import { platformAdminProcedure, platformFinanceProcedure, router, tenantProcedure } from '../init';

const month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected a month as YYYY-MM');
const amount = (scale: number) =>
	z
		.string()
		.trim()
		.regex(new RegExp(`^\\d{1,12}(\\.\\d{1,${scale}})?$`), `expected a non-negative amount with at most ${scale} decimals`);
const e164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'expected an E.164 number (+14155550100)');

const monthInput = z.object({ period: month });
const statementInput = z.object({ statementId: z.string().uuid() });
const exportMinutesInput = z.object({ from: month, to: month });
const listAllStatementsInput = z.object({ tenantId: z.string().uuid().optional() }).default({});
const closeMonthInput = z.object({ period: month, tenantId: z.string().uuid().optional() });
const reopenStatementInput = z.object({ statementId: z.string().uuid(), reason: z.string().trim().min(3).max(500) });
const saveBillingRuleInput = z.object({
	tenantId: z.string().uuid(),
	effectiveFrom: month,
	rounding: z.enum(BILLING_ROUNDINGS),
	roundToSecs: z.number().int().min(2).max(3600).optional(),
	minBillableSecs: z.number().int().min(0).max(86_400),
	countFailedCalls: z.boolean(),
	includedMinutes: z.number().int().min(0).max(10_000_000),
	pricePerMinute: amount(6),
	pricePerConversion: amount(6)
});
const reconcileInput = z.object({ tenantId: z.string().uuid(), period: month });
const setCreditRateInput = z.object({ connectionId: z.string().uuid(), perCredit: amount(9) });
const setTelephonyRateInput = z.object({ tenantId: z.string().uuid().nullable(), phoneNumber: e164.nullable(), perMinute: amount(6) });

export const financeRouter = router({
	// A tenant's own figures: finance, tenant admins (and platform admins acting in the tenant).
	month: tenantProcedure('usage:read')
		.input(monthInput)
		.query(({ ctx, input }) => getTenantMonth({ ctx, input })),
	statements: tenantProcedure('usage:read').query(({ ctx }) => listTenantStatements({ ctx })),
	statement: tenantProcedure('usage:read')
		.input(statementInput)
		.query(({ ctx, input }) => getTenantStatement({ ctx, input })),
	rules: tenantProcedure('usage:read').query(({ ctx }) => listTenantBillingRules({ ctx })),
	exportMinutes: tenantProcedure('usage:export')
		.input(exportMinutesInput)
		.query(({ ctx, input }) => exportTenantMinutes({ ctx, input })),
	// Every tenant.
	platform: router({
		overview: platformFinanceProcedure.input(monthInput).query(({ ctx, input }) => platformOverview({ ctx, input })),
		statements: platformFinanceProcedure.input(listAllStatementsInput).query(({ ctx, input }) => listAllStatements({ ctx, input })),
		statement: platformFinanceProcedure.input(statementInput).query(({ ctx, input }) => getAnyStatement({ ctx, input })),
		exportMinutes: platformFinanceProcedure.input(monthInput).query(({ ctx, input }) => exportAllTenantsMinutes({ ctx, input })),
		closeMonth: platformFinanceProcedure.input(closeMonthInput).mutation(({ ctx, input }) => closeMonth({ ctx, input })),
		saveRule: platformFinanceProcedure.input(saveBillingRuleInput).mutation(({ ctx, input }) => saveBillingRule({ ctx, input })),
		setCreditRate: platformFinanceProcedure.input(setCreditRateInput).mutation(({ ctx, input }) => setCreditRate({ ctx, input })),
		reconcile: platformFinanceProcedure.input(reconcileInput).query(({ ctx, input }) => reconcileTenantMonth({ ctx, input })),
		setTelephonyRate: platformFinanceProcedure.input(setTelephonyRateInput).mutation(({ ctx, input }) => setTelephonyRate({ ctx, input })),
		// Reopening a frozen statement is a platform admin's act, whoever else may close months.
		reopen: platformAdminProcedure.input(reopenStatementInput).mutation(({ ctx, input }) => reopenStatement({ ctx, input }))
	})
});
