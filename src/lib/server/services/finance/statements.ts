import { and, asc, desc, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import { addDecimals } from '../../../decimal';
import { isIsoMonth, todayInZone, monthOf, type IsoMonth } from '../../../days';
import { inTransaction, type DbOrTx, type Tx } from '../../db/client';
import { statement, statementLine, tenant } from '../../db/schema/index';
import { DomainError } from '../../errors';
import { recordAudit } from '../audit/index';
import { actorLabel, assertPlatformActor, type ServiceCtx } from '../context';
import { ensureRuleForMonth, ruleForMonth, type BillingRule } from './rules';
import { computeUsage, isZeroFigures, monthWindow, subtractFigures, sumFigures, ZERO_FIGURES, type AgentUsage, type UsageFigures } from './usage';

// Monthly close. Closing month M for a tenant (M in its timezone, over once M's last local day has ended) writes one
// numbered statement with a usage line per agent, plus an adjustment line for every earlier closed month whose
// figures the data no longer matches (a late webhook, a changed rule, a re-scored call): what that month says now
// minus what its statement and earlier adjustments already booked. A closed statement never changes; the database
// enforces it (migrations/*_statement_immutability.sql). The one door is reopenStatement (platform admins, a reason,
// audited), which sets the session flag the trigger checks and may reopen only a tenant's latest closed statement,
// so no later statement has booked adjustments against it. The month can then be closed again, as a new statement.

export type Statement = typeof statement.$inferSelect;
export type StatementLine = typeof statementLine.$inferSelect;

export interface AdjustmentDraft extends UsageFigures {
	correctsPeriod: IsoMonth;
	correctsStatementId: string;
	correctsStatementNumber: number;
}

function lineFigures(l: Pick<StatementLine, 'calls' | 'connectedSecs' | 'billableSecs' | 'chargeableSecs' | 'upstreamCost' | 'telephonyCost' | 'price'>): UsageFigures {
	return {
		calls: l.calls,
		connectedSecs: l.connectedSecs,
		billableSecs: l.billableSecs,
		chargeableSecs: l.chargeableSecs,
		upstreamCost: l.upstreamCost,
		telephonyCost: l.telephonyCost,
		price: l.price
	};
}

/**
 * For every closed statement of the tenant before `beforePeriod`: its month as the data and rules say now, minus
 * what is booked for it (its usage lines and adjustment lines on closed statements). Non-zero differences only.
 */
export async function pendingAdjustments(db: DbOrTx, tenantId: string, beforePeriod: IsoMonth): Promise<AdjustmentDraft[]> {
	const closed = await db
		.select()
		.from(statement)
		.where(and(eq(statement.tenantId, tenantId), eq(statement.status, 'closed'), lt(statement.period, beforePeriod)))
		.orderBy(asc(statement.period));
	if (closed.length === 0) return [];
	const ids = closed.map((s) => s.id);
	const booked = await db
		.select({ line: statementLine, via: statement.status })
		.from(statementLine)
		.innerJoin(statement, eq(statement.id, statementLine.statementId))
		.where(
			and(
				eq(statement.status, 'closed'),
				sql`((${inArray(statementLine.statementId, ids)} and ${statementLine.kind} = 'usage') or ${inArray(statementLine.correctsStatementId, ids)})`
			)
		);
	const out: AdjustmentDraft[] = [];
	for (const s of closed) {
		const rule = await ruleForMonth(db, tenantId, s.period);
		if (!rule) continue;
		const now = sumFigures(await computeUsage(db, { tenantId, start: s.periodStart, end: s.periodEnd, rule }));
		const bookedFigures = sumFigures(
			booked
				.filter(({ line }) => (line.kind === 'usage' && line.statementId === s.id) || line.correctsStatementId === s.id)
				.map(({ line }) => lineFigures(line))
		);
		const delta = subtractFigures(now, bookedFigures);
		if (!isZeroFigures(delta)) out.push({ ...delta, correctsPeriod: s.period, correctsStatementId: s.id, correctsStatementNumber: s.number });
	}
	return out;
}

export interface MonthPreview {
	tenantId: string;
	period: IsoMonth;
	timezone: string;
	start: Date;
	end: Date;
	rule: BillingRule | null;
	includedSecs: number;
	agents: AgentUsage[];
	totals: UsageFigures & { allowanceUsedSecs: number };
	adjustments: AdjustmentDraft[];
	totalPrice: string;
	/** The closed statement of this month, if any (its figures are what was billed; `agents` is the data now). */
	closed: Statement | null;
}

/** A tenant's month as it stands now: what closing it would write (or, once closed, what the data says since). */
export async function previewTenantMonth(db: DbOrTx, t: { id: string; timezone: string }, period: IsoMonth): Promise<MonthPreview> {
	if (!isIsoMonth(period)) throw new DomainError('BAD_INPUT', 'period must be a month (YYYY-MM)');
	const { start, end } = monthWindow(period, t.timezone);
	const rule = await ruleForMonth(db, t.id, period);
	const effective = rule ?? { roundingSecs: 1, minBillableSecs: 0, countFailedCalls: false, includedMinutes: 0, pricePerMinute: '0' };
	const [agents, adjustments, [closed]] = await Promise.all([
		computeUsage(db, { tenantId: t.id, start, end, rule: effective }),
		pendingAdjustments(db, t.id, period),
		db
			.select()
			.from(statement)
			.where(and(eq(statement.tenantId, t.id), eq(statement.period, period), eq(statement.status, 'closed')))
	]);
	const totals = agents.length ? sumFigures(agents) : ZERO_FIGURES;
	const includedSecs = effective.includedMinutes * 60;
	return {
		tenantId: t.id,
		period,
		timezone: t.timezone,
		start,
		end,
		rule,
		includedSecs,
		agents,
		totals: { ...totals, allowanceUsedSecs: Math.min(includedSecs, totals.billableSecs) },
		adjustments,
		totalPrice: addDecimals([totals.price, ...adjustments.map((a) => a.price)], 2),
		closed: closed ?? null
	};
}

/** True once the month's last local day has ended in `timezone`. */
export function monthHasEnded(period: IsoMonth, timezone: string, now = new Date()): boolean {
	return monthOf(todayInZone(timezone, now)) > period;
}

export type CloseOutcome =
	| { tenantId: string; outcome: 'closed'; statementId: string; number: number }
	| { tenantId: string; outcome: 'already-closed'; statementId: string; number: number }
	| { tenantId: string; outcome: 'not-ended' };

async function closeOneTenant(ctx: ServiceCtx, tx: Tx, t: { id: string; timezone: string }, period: IsoMonth, now: Date): Promise<CloseOutcome> {
	// One close per tenant at a time: the advisory lock serialises concurrent closes (the partial unique index backs it).
	await tx.execute(sql`select pg_advisory_xact_lock(hashtext('statement_close'), hashtext(${t.id}))`);
	const [existing] = await tx
		.select({ id: statement.id, number: statement.number })
		.from(statement)
		.where(and(eq(statement.tenantId, t.id), eq(statement.period, period), eq(statement.status, 'closed')));
	if (existing) return { tenantId: t.id, outcome: 'already-closed', statementId: existing.id, number: existing.number };
	if (!monthHasEnded(period, t.timezone, now)) return { tenantId: t.id, outcome: 'not-ended' };
	const rule = await ensureRuleForMonth({ ...ctx, db: tx }, t.id, period);
	const preview = await previewTenantMonth(tx, t, period);
	const adjustmentsPrice = addDecimals(
		preview.adjustments.map((a) => a.price),
		2
	);
	const [row] = await tx
		.insert(statement)
		.values({
			tenantId: t.id,
			period,
			periodStart: preview.start,
			periodEnd: preview.end,
			timezone: t.timezone,
			ruleId: rule.id,
			ruleVersion: rule.version,
			calls: preview.totals.calls,
			connectedSecs: preview.totals.connectedSecs,
			billableSecs: preview.totals.billableSecs,
			includedSecs: rule.includedMinutes * 60,
			chargeableSecs: preview.totals.chargeableSecs,
			upstreamCost: preview.totals.upstreamCost,
			telephonyCost: preview.totals.telephonyCost,
			usagePrice: preview.totals.price,
			adjustmentsPrice,
			totalPrice: addDecimals([preview.totals.price, adjustmentsPrice], 2),
			closedBy: actorLabel(ctx.actor)
		})
		.returning({ id: statement.id, number: statement.number });
	const lines: (typeof statementLine.$inferInsert)[] = [
		...preview.agents.map(({ agentId, ...f }) => ({ statementId: row.id, kind: 'usage' as const, agentId, ...f })),
		...preview.adjustments.map(({ correctsPeriod, correctsStatementId, correctsStatementNumber: _n, ...f }) => ({
			statementId: row.id,
			kind: 'adjustment' as const,
			correctsPeriod,
			correctsStatementId,
			...f
		}))
	];
	for (let i = 0; i < lines.length; i += 1000) await tx.insert(statementLine).values(lines.slice(i, i + 1000));
	await recordAudit(tx, ctx, {
		tenantId: t.id,
		action: 'statement.close',
		targetType: 'statement',
		targetId: row.id,
		after: { number: row.number, period, ruleVersion: rule.version, totalPrice: addDecimals([preview.totals.price, adjustmentsPrice], 2), adjustments: preview.adjustments.length }
	});
	return { tenantId: t.id, outcome: 'closed', statementId: row.id, number: row.number };
}

/**
 * Closes `period` for one tenant or for every tenant (each in its own timezone and its own transaction, so one
 * failure does not undo the others). Idempotent: a month already closed is reported, not closed twice.
 */
export async function closeMonth({ ctx, input }: { ctx: ServiceCtx; input: { period: IsoMonth; tenantId?: string; now?: Date } }): Promise<CloseOutcome[]> {
	assertPlatformActor(ctx.actor);
	if (!isIsoMonth(input.period)) throw new DomainError('BAD_INPUT', 'period must be a month (YYYY-MM)');
	const tenants = await ctx.db
		.select({ id: tenant.id, timezone: tenant.timezone })
		.from(tenant)
		.where(input.tenantId ? eq(tenant.id, input.tenantId) : undefined)
		.orderBy(asc(tenant.slug));
	if (input.tenantId && tenants.length === 0) throw new DomainError('NOT_FOUND', 'Tenant not found');
	const now = input.now ?? new Date();
	const out: CloseOutcome[] = [];
	for (const t of tenants) out.push(await inTransaction(ctx.db, (tx) => closeOneTenant(ctx, tx, t, input.period, now)));
	return out;
}

/**
 * Reopens a closed statement (platform admins, with a reason; audited). Only a tenant's latest closed statement:
 * a later one may have booked adjustments against it. The trigger lets exactly this change through.
 */
export async function reopenStatement({ ctx, input }: { ctx: ServiceCtx; input: { statementId: string; reason: string } }): Promise<Statement> {
	if (ctx.actor.kind !== 'user' || !ctx.actor.isPlatformAdmin) throw new DomainError('FORBIDDEN', 'Platform admins only');
	const reason = input.reason.trim();
	if (reason.length < 3) throw new DomainError('BAD_INPUT', 'Give a reason for reopening');
	return inTransaction(ctx.db, async (tx) => {
		const [s] = await tx.select().from(statement).where(eq(statement.id, input.statementId)).for('update');
		if (!s) throw new DomainError('NOT_FOUND', 'Statement not found');
		if (s.status !== 'closed') throw new DomainError('CONFLICT', `Statement ${s.number} is already reopened`);
		const [later] = await tx
			.select({ number: statement.number })
			.from(statement)
			.where(and(eq(statement.tenantId, s.tenantId), eq(statement.status, 'closed'), gt(statement.period, s.period)))
			.limit(1);
		if (later) throw new DomainError('CONFLICT', `Statement ${later.number} of a later month is closed; only the latest closed statement can be reopened`);
		await tx.execute(sql`set local voxcalls.statement_reopen = 'on'`);
		const [after] = await tx
			.update(statement)
			.set({ status: 'reopened', reopenedAt: sql`now()`, reopenedBy: actorLabel(ctx.actor), reopenReason: reason })
			.where(eq(statement.id, s.id))
			.returning();
		await tx.execute(sql`set local voxcalls.statement_reopen = 'off'`);
		await recordAudit(tx, ctx, {
			tenantId: s.tenantId,
			action: 'statement.reopen',
			targetType: 'statement',
			targetId: s.id,
			before: { number: s.number, period: s.period, status: s.status },
			after: { number: s.number, period: s.period, status: after.status, reason }
		});
		return after;
	});
}

export async function listStatements(db: DbOrTx, filter: { tenantId?: string }): Promise<(Statement & { tenantName: string; tenantSlug: string })[]> {
	const rows = await db
		.select({ s: statement, tenantName: tenant.name, tenantSlug: tenant.slug })
		.from(statement)
		.innerJoin(tenant, eq(tenant.id, statement.tenantId))
		.where(filter.tenantId ? eq(statement.tenantId, filter.tenantId) : undefined)
		.orderBy(desc(statement.period), asc(tenant.slug), desc(statement.number));
	return rows.map((r) => ({ ...r.s, tenantName: r.tenantName, tenantSlug: r.tenantSlug }));
}

/** A statement and its lines; `tenantId` scopes it (NOT_FOUND for another tenant's id) unless the caller is platform-level. */
export async function getStatement(db: DbOrTx, input: { statementId: string; tenantId?: string }): Promise<{ statement: Statement & { tenantName: string }; lines: StatementLine[] }> {
	const [row] = await db
		.select({ s: statement, tenantName: tenant.name })
		.from(statement)
		.innerJoin(tenant, eq(tenant.id, statement.tenantId))
		.where(and(eq(statement.id, input.statementId), input.tenantId ? eq(statement.tenantId, input.tenantId) : undefined));
	if (!row) throw new DomainError('NOT_FOUND', 'Statement not found');
	const lines = await db.select().from(statementLine).where(eq(statementLine.statementId, input.statementId)).orderBy(asc(statementLine.kind), asc(statementLine.agentId), asc(statementLine.correctsPeriod));
	return { statement: { ...row.s, tenantName: row.tenantName }, lines };
}
