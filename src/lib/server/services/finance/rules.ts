import { and, desc, eq, lte, sql } from 'drizzle-orm';
import { isIsoMonth, type IsoMonth } from '../../../days';
import { inTransaction, type DbOrTx } from '../../db/client';
import { billingRule, type BillingRounding } from '../../db/schema/index';
import { DomainError } from '../../errors';
import { recordAudit } from '../audit/index';
import { actorLabel, type ServiceCtx } from '../context';

// Billing rules, versioned: an edit inserts the next version (the database refuses updates of a version), and a
// month is billed by the highest version effective from that month or earlier. The rounding arithmetic lives here
// once in TypeScript (billableSeconds, for tests and previews) and once in SQL (usage.ts), tested against each other.

export type BillingRule = typeof billingRule.$inferSelect;

export interface BillingRuleInput {
	effectiveFrom: IsoMonth;
	rounding: BillingRounding;
	/** For per_n_seconds: N (2..3600). Ignored for the other roundings. */
	roundToSecs?: number;
	minBillableSecs: number;
	countFailedCalls: boolean;
	includedMinutes: number;
	/** Decimal text, at most 6 decimals. */
	pricePerMinute: string;
	pricePerConversion: string;
}

/** The unit a rounding rounds up to. */
export function roundingUnit(rounding: BillingRounding, roundToSecs?: number): number {
	if (rounding === 'per_second') return 1;
	if (rounding === 'per_minute') return 60;
	if (!Number.isInteger(roundToSecs) || roundToSecs! < 2 || roundToSecs! > 3600) {
		throw new DomainError('BAD_INPUT', 'Rounding per call up to N seconds needs N between 2 and 3600');
	}
	return roundToSecs!;
}

/**
 * Billable seconds of one call. Only final calls are billed: status done, or failed (unanswered, failed to connect)
 * when the rule counts them. The minimum applies first, then the call rounds up to the rule's unit, so a 0 s call
 * that is billed costs the minimum rounded up (and nothing without a minimum).
 */
export function billableSeconds(
	rule: Pick<BillingRule, 'roundingSecs' | 'minBillableSecs' | 'countFailedCalls'>,
	call: { status: string; durationSecs: number }
): number {
	const billed = call.status === 'done' || (call.status === 'failed' && rule.countFailedCalls);
	if (!billed) return 0;
	const secs = Math.max(call.durationSecs, rule.minBillableSecs);
	return Math.ceil(secs / rule.roundingSecs) * rule.roundingSecs;
}

/** The rule that bills `month` for a tenant, or null when it has none yet. */
export async function ruleForMonth(db: DbOrTx, tenantId: string, month: IsoMonth): Promise<BillingRule | null> {
	const [rule] = await db
		.select()
		.from(billingRule)
		.where(and(eq(billingRule.tenantId, tenantId), lte(billingRule.effectiveFrom, month)))
		.orderBy(desc(billingRule.effectiveFrom), desc(billingRule.version))
		.limit(1);
	return rule ?? null;
}

export async function listBillingRules(db: DbOrTx, tenantId: string): Promise<BillingRule[]> {
	return db.select().from(billingRule).where(eq(billingRule.tenantId, tenantId)).orderBy(desc(billingRule.version));
}

const DECIMAL_6 = /^\d{1,12}(\.\d{1,6})?$/;

/** Saves the tenant's next rule version (never rewrites one); audited. Platform-level billing verb. */
export async function saveBillingRule({ ctx, input }: { ctx: ServiceCtx; input: BillingRuleInput & { tenantId: string } }): Promise<BillingRule> {
	if (!isIsoMonth(input.effectiveFrom)) throw new DomainError('BAD_INPUT', 'effectiveFrom must be a month (YYYY-MM)');
	for (const [name, v] of [
		['pricePerMinute', input.pricePerMinute],
		['pricePerConversion', input.pricePerConversion]
	] as const) {
		if (!DECIMAL_6.test(v)) throw new DomainError('BAD_INPUT', `${name} must be a non-negative amount with at most 6 decimals`, { [name]: v });
	}
	const unit = roundingUnit(input.rounding, input.roundToSecs);
	return inTransaction(ctx.db, async (tx) => {
		// Versions are numbered per tenant; the unique (tenant, version) key makes a concurrent save fail, not fork.
		await tx.execute(sql`select pg_advisory_xact_lock(hashtext('billing_rule'), hashtext(${input.tenantId}))`);
		const [{ next }] = await tx
			.select({ next: sql<number>`coalesce(max(${billingRule.version}), 0)::int + 1` })
			.from(billingRule)
			.where(eq(billingRule.tenantId, input.tenantId));
		const [row] = await tx
			.insert(billingRule)
			.values({
				tenantId: input.tenantId,
				version: next,
				effectiveFrom: input.effectiveFrom,
				rounding: input.rounding,
				roundingSecs: unit,
				minBillableSecs: input.minBillableSecs,
				countFailedCalls: input.countFailedCalls,
				includedMinutes: input.includedMinutes,
				pricePerMinute: input.pricePerMinute,
				pricePerConversion: input.pricePerConversion,
				createdBy: actorLabel(ctx.actor)
			})
			.returning();
		await recordAudit(tx, ctx, {
			tenantId: input.tenantId,
			action: 'billing.rule_save',
			targetType: 'billing_rule',
			targetId: row.id,
			after: { ...row, createdAt: row.createdAt.toISOString() }
		});
		return row;
	});
}

/** A tenant with no rule yet is billed nothing: version 1 records that, so a statement can name the rule it used. */
export async function ensureRuleForMonth(ctx: ServiceCtx, tenantId: string, month: IsoMonth): Promise<BillingRule> {
	const found = await ruleForMonth(ctx.db, tenantId, month);
	if (found) return found;
	const any = await listBillingRules(ctx.db, tenantId);
	if (any.length > 0) {
		// Versions exist, all effective later than this month: the earliest one is what applied before.
		throw new DomainError('CONFLICT', `No billing rule is effective for ${month}; save one effective from ${month} or earlier`);
	}
	return saveBillingRule({
		ctx,
		input: {
			tenantId,
			effectiveFrom: '2000-01',
			rounding: 'per_second',
			minBillableSecs: 0,
			countFailedCalls: false,
			includedMinutes: 0,
			pricePerMinute: '0',
			pricePerConversion: '0'
		}
	});
}
