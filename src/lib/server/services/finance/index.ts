import { and, asc, eq, inArray } from 'drizzle-orm';
import { isIsoMonth, type IsoMonth } from '../../../days';
import { inTransaction } from '../../db/client';
import { elevenlabsAgent, elevenlabsConnection, statement, statementLine, telephonyRate, tenant, upstreamCreditRate } from '../../db/schema/index';
import { DomainError } from '../../errors';
import { recordAudit } from '../audit/index';
import { assertPlatformActor, type ServiceCtx, type TenantServiceCtx } from '../context';
import { listBillingRules, saveBillingRule, type BillingRuleInput } from './rules';
import { closeMonth, getStatement, listStatements, previewTenantMonth, reopenStatement, type MonthPreview } from './statements';

// The finance area's verbs for adapters: a tenant's own figures (usage:read / usage:export, scoped by ctx.tenant),
// and platform-level ones (every tenant; the tRPC rung and assertPlatformActor both check who calls).

export { closeMonth, reopenStatement, saveBillingRule, type BillingRuleInput };

const MAX_MONTHS = 24;

function assertMonth(period: string): asserts period is IsoMonth {
	if (!isIsoMonth(period)) throw new DomainError('BAD_INPUT', 'Choose a month as YYYY-MM', { period });
}

async function agentNames(ctx: ServiceCtx, tenantId: string): Promise<Map<string, string>> {
	const rows = await ctx.db
		.select({ agentId: elevenlabsAgent.agentId, name: elevenlabsAgent.name })
		.from(elevenlabsAgent)
		.innerJoin(elevenlabsConnection, eq(elevenlabsConnection.id, elevenlabsAgent.connectionId))
		.where(eq(elevenlabsAgent.tenantId, tenantId));
	const out = new Map<string, string>();
	for (const r of rows) if (r.name) out.set(r.agentId, r.name);
	return out;
}

export type TenantMonth = MonthPreview & { tenantName: string; agentNames: Record<string, string> };

/** The finance page for the caller's tenant and one month (its timezone). */
export async function getTenantMonth({ ctx, input }: { ctx: TenantServiceCtx; input: { period: string } }): Promise<TenantMonth> {
	assertMonth(input.period);
	const preview = await previewTenantMonth(ctx.db, ctx.tenant, input.period);
	return { ...preview, tenantName: ctx.tenant.name, agentNames: Object.fromEntries(await agentNames(ctx, ctx.tenant.id)) };
}

export function listTenantStatements({ ctx }: { ctx: TenantServiceCtx }) {
	return listStatements(ctx.db, { tenantId: ctx.tenant.id });
}

export function getTenantStatement({ ctx, input }: { ctx: TenantServiceCtx; input: { statementId: string } }) {
	return getStatement(ctx.db, { statementId: input.statementId, tenantId: ctx.tenant.id });
}

export function listTenantBillingRules({ ctx }: { ctx: TenantServiceCtx }) {
	return listBillingRules(ctx.db, ctx.tenant.id);
}

/** One row of the minutes CSV: a statement's usage or adjustment, or a month not closed yet. */
export interface MinutesRow {
	tenant: string;
	period: IsoMonth;
	line: 'usage' | 'adjustment' | 'open';
	correctsPeriod: string;
	calls: number;
	connectedSecs: number;
	billableMinutes: string;
	upstreamCost: string;
	telephonyCost: string;
	price: string;
	statementNumber: number | null;
}

/** Billable seconds as minutes, exact to the 1/60 (six decimals, rounded half up: 61 s = 1.016667). */
function minutesText(secs: number): string {
	const micro = (BigInt(secs) * 1_000_000n * 2n + 60n) / 120n; // round half up of secs / 60 at scale 6
	const neg = micro < 0n;
	const abs = (neg ? -micro : micro).toString().padStart(7, '0');
	return `${neg ? '-' : ''}${abs.slice(0, -6)}.${abs.slice(-6)}`;
}

async function minutesRowsFor(ctx: ServiceCtx, t: { id: string; name: string; timezone: string }, months: IsoMonth[]): Promise<MinutesRow[]> {
	const closed = await ctx.db
		.select()
		.from(statement)
		.where(and(eq(statement.tenantId, t.id), eq(statement.status, 'closed'), inArray(statement.period, months)));
	const lines = closed.length
		? await ctx.db
				.select()
				.from(statementLine)
				.where(inArray(statementLine.statementId, closed.map((s) => s.id)))
				.orderBy(asc(statementLine.id))
		: [];
	const out: MinutesRow[] = [];
	for (const period of months) {
		const s = closed.find((x) => x.period === period);
		if (!s) {
			const p = await previewTenantMonth(ctx.db, t, period);
			out.push({ tenant: t.name, period, line: 'open', correctsPeriod: '', calls: p.totals.calls, connectedSecs: p.totals.connectedSecs, billableMinutes: minutesText(p.totals.billableSecs), upstreamCost: p.totals.upstreamCost, telephonyCost: p.totals.telephonyCost, price: p.totals.price, statementNumber: null });
			continue;
		}
		out.push({ tenant: t.name, period, line: 'usage', correctsPeriod: '', calls: s.calls, connectedSecs: s.connectedSecs, billableMinutes: minutesText(s.billableSecs), upstreamCost: s.upstreamCost, telephonyCost: s.telephonyCost, price: s.usagePrice, statementNumber: s.number });
		for (const l of lines.filter((x) => x.statementId === s.id && x.kind === 'adjustment')) {
			out.push({ tenant: t.name, period, line: 'adjustment', correctsPeriod: l.correctsPeriod ?? '', calls: l.calls, connectedSecs: l.connectedSecs, billableMinutes: minutesText(l.billableSecs), upstreamCost: l.upstreamCost, telephonyCost: l.telephonyCost, price: l.price, statementNumber: s.number });
		}
	}
	return out;
}

function monthsBetween(from: string, to: string): IsoMonth[] {
	assertMonth(from);
	assertMonth(to);
	if (from > to) throw new DomainError('BAD_INPUT', `The range starts (${from}) after it ends (${to})`);
	const out: IsoMonth[] = [];
	let [y, m] = from.split('-').map(Number);
	for (;;) {
		const p = `${y}-${String(m).padStart(2, '0')}`;
		out.push(p);
		if (p === to) break;
		if (out.length >= MAX_MONTHS) throw new DomainError('BAD_INPUT', `Choose at most ${MAX_MONTHS} months`);
		if (m === 12) {
			y += 1;
			m = 1;
		} else m += 1;
	}
	return out;
}

/** The caller's tenant, months `from`..`to`. */
export function exportTenantMinutes({ ctx, input }: { ctx: TenantServiceCtx; input: { from: string; to: string } }): Promise<MinutesRow[]> {
	return minutesRowsFor(ctx, ctx.tenant, monthsBetween(input.from, input.to));
}

/** Every tenant, one month (platform finance). */
export async function exportAllTenantsMinutes({ ctx, input }: { ctx: ServiceCtx; input: { period: string } }): Promise<MinutesRow[]> {
	assertPlatformActor(ctx.actor);
	const months = monthsBetween(input.period, input.period);
	const tenants = await ctx.db.select({ id: tenant.id, name: tenant.name, timezone: tenant.timezone }).from(tenant).orderBy(asc(tenant.slug));
	const out: MinutesRow[] = [];
	for (const t of tenants) out.push(...(await minutesRowsFor(ctx, t, months)));
	return out;
}

/** Every tenant's month at a glance (platform finance page). */
export async function platformOverview({ ctx, input }: { ctx: ServiceCtx; input: { period: string } }) {
	assertPlatformActor(ctx.actor);
	assertMonth(input.period);
	const tenants = await ctx.db.select({ id: tenant.id, name: tenant.name, slug: tenant.slug, timezone: tenant.timezone }).from(tenant).orderBy(asc(tenant.slug));
	const rows = [];
	for (const t of tenants) {
		const p = await previewTenantMonth(ctx.db, t, input.period);
		rows.push({ tenantId: t.id, tenantName: t.name, slug: t.slug, timezone: t.timezone, totals: p.totals, adjustments: p.adjustments.length, totalPrice: p.totalPrice, closed: p.closed ? { id: p.closed.id, number: p.closed.number } : null });
	}
	return { period: input.period, tenants: rows };
}

export function listAllStatements({ ctx, input }: { ctx: ServiceCtx; input: { tenantId?: string } }) {
	assertPlatformActor(ctx.actor);
	return listStatements(ctx.db, input);
}

export function getAnyStatement({ ctx, input }: { ctx: ServiceCtx; input: { statementId: string } }) {
	assertPlatformActor(ctx.actor);
	return getStatement(ctx.db, input);
}

/** What a credit costs on a connection; audited. */
export async function setCreditRate({ ctx, input }: { ctx: ServiceCtx; input: { connectionId: string; perCredit: string } }) {
	assertPlatformActor(ctx.actor);
	return inTransaction(ctx.db, async (tx) => {
		const [c] = await tx.select({ id: elevenlabsConnection.id, tenantId: elevenlabsConnection.tenantId }).from(elevenlabsConnection).where(eq(elevenlabsConnection.id, input.connectionId));
		if (!c) throw new DomainError('NOT_FOUND', 'Connection not found');
		const [row] = await tx
			.insert(upstreamCreditRate)
			.values({ connectionId: c.id, perCredit: input.perCredit })
			.onConflictDoUpdate({ target: upstreamCreditRate.connectionId, set: { perCredit: input.perCredit, updatedAt: new Date() } })
			.returning();
		await recordAudit(tx, ctx, { tenantId: c.tenantId, action: 'billing.credit_rate_set', targetType: 'elevenlabs_connection', targetId: c.id, after: { perCredit: row.perCredit } });
		return row;
	});
}

/** A telephony rate per started minute: for a number (E.164) or a default, per tenant or platform-wide; audited. */
export async function setTelephonyRate({ ctx, input }: { ctx: ServiceCtx; input: { tenantId: string | null; phoneNumber: string | null; perMinute: string } }) {
	assertPlatformActor(ctx.actor);
	return inTransaction(ctx.db, async (tx) => {
		if (input.tenantId) {
			const [t] = await tx.select({ id: tenant.id }).from(tenant).where(eq(tenant.id, input.tenantId));
			if (!t) throw new DomainError('NOT_FOUND', 'Tenant not found');
		}
		const [row] = await tx
			.insert(telephonyRate)
			.values({ tenantId: input.tenantId, phoneNumber: input.phoneNumber, perMinute: input.perMinute })
			.onConflictDoUpdate({ target: [telephonyRate.tenantId, telephonyRate.phoneNumber], set: { perMinute: input.perMinute, updatedAt: new Date() } })
			.returning();
		await recordAudit(tx, ctx, { tenantId: input.tenantId, action: 'billing.telephony_rate_set', targetType: 'telephony_rate', targetId: row.id, after: { phoneNumber: row.phoneNumber, perMinute: row.perMinute } });
		return row;
	});
}

