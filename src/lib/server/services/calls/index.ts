import { and, count, desc, eq, gte, ilike, isNotNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { zeroFillDays } from '../../../charts/series';
import { normalizeDecimal } from '../../../decimal';
import { addDays, dayRangeToInstants, daysBetween, todayInZone, type IsoDay } from '../../../days';
import { MONEY_SCALE } from '../../analytics/tables';
import { queryTenantCallRollupTotals } from '../../analytics/queries/calls/tenant-call-rollup-totals';
import { queryTenantDailyCalls } from '../../analytics/queries/calls/tenant-daily-calls';
import { conversation, elevenlabsAgent } from '../../db/schema/index';
import { DomainError } from '../../errors';
import type { AnalyticsCtx, TenantServiceCtx } from '../context';

// The tenant's calls dashboard: figures for a range of local days (ClickHouse) and the calls behind them
// (PostgreSQL). A "call" is a conversation that is counted: it has a tenant, a start time and a status, exactly the
// rows whose facts reach ClickHouse (ingest/merge.ts finishChange), so the table and the figures agree.

/** The calls dashboard reads ClickHouse: the client comes with the request context (tRPC's, or a test's). */
export type CallsCtx = TenantServiceCtx & AnalyticsCtx;

export const DEFAULT_RANGE_DAYS = 14;
export const MAX_RANGE_DAYS = 366;

export interface CallRangeInput {
	from?: IsoDay;
	to?: IsoDay;
}

export interface CallRange {
	from: IsoDay;
	to: IsoDay;
	/** Days in the range, both ends included. */
	days: number;
	timezone: string;
}

/**
 * Local days `from`..`to` in the tenant's timezone, defaulting to the last 14 days up to today, and the instants
 * that bound them. BAD_INPUT when the range is reversed or longer than 366 days.
 */
export function resolveCallRange(input: CallRangeInput, timezone: string, now: Date = new Date()): CallRange & { start: Date; end: Date } {
	const to = input.to ?? todayInZone(timezone, now);
	const from = input.from ?? addDays(to, -(DEFAULT_RANGE_DAYS - 1));
	const span = daysBetween(from, to);
	if (span < 0) throw new DomainError('BAD_INPUT', `The range starts (${from}) after it ends (${to})`, { from, to });
	if (span + 1 > MAX_RANGE_DAYS) throw new DomainError('BAD_INPUT', `Choose at most ${MAX_RANGE_DAYS} days (this range has ${span + 1})`, { from, to });
	return { from, to, days: span + 1, timezone, ...dayRangeToInstants(from, to, timezone) };
}

const publicRange = ({ from, to, days, timezone }: CallRange): CallRange => ({ from, to, days, timezone });

// -----------------------------------------------------------------------------------------------------------------
// Summary (ClickHouse).

export interface CallsDay {
	day: IsoDay;
	calls: number;
	durationSecs: number;
	/** Credits, exact decimal text. */
	cost: string;
}

export interface CallsSummary {
	range: CallRange;
	totals: {
		calls: number;
		durationSecs: number;
		/** Conversations that ended normally (status done). */
		answered: number;
		failed: number;
		/** Calls the agent's evaluation judged successful. */
		successful: number;
		/** successful / calls; null with no calls (no rate, rather than 0%). */
		successRate: number | null;
		/** ElevenLabs credits, exact decimal text (Decimal(18, 6) summed in ClickHouse). */
		cost: string;
	};
	/** One point per local day of the range, zero-filled. */
	daily: CallsDay[];
}

// Sums of Decimal(18, 6) come back as exact text; normalise to the scale so a zero-filled day reads like a stored one.
const costText = (text: string) => normalizeDecimal(text, MONEY_SCALE);

/**
 * Totals and the day series both come from the calls_15m rollup (local-day bounds fall on quarter hours in every
 * zone, so the rollup's figures equal call_events FINAL's); days are cut at the tenant's local midnights and
 * zero-filled here (18.16 has no WITH FILL).
 */
export async function summarizeCalls({ ctx, input }: { ctx: CallsCtx; input: CallRangeInput }): Promise<CallsSummary> {
	const range = resolveCallRange(input, ctx.tenant.timezone);
	const ch = ctx.ch;
	const window = { tenantId: ctx.tenant.id, from: range.start, to: range.end };
	const [totals, days] = await Promise.all([
		queryTenantCallRollupTotals(ch, window),
		queryTenantDailyCalls(ch, { ...window, timezone: range.timezone })
	]);
	const daily = zeroFillDays(
		days.map((d) => ({ day: d.day, calls: d.calls, durationSecs: d.durationSecs, cost: costText(d.cost) })),
		range.from,
		range.to,
		{ calls: 0, durationSecs: 0, cost: costText('0') }
	);
	return {
		range: publicRange(range),
		totals: {
			calls: totals.calls,
			durationSecs: totals.durationSecs,
			answered: totals.done,
			failed: totals.failed,
			successful: totals.successful,
			successRate: totals.calls > 0 ? totals.successful / totals.calls : null,
			cost: costText(totals.cost)
		},
		daily
	};
}

// -----------------------------------------------------------------------------------------------------------------
// The calls themselves (PostgreSQL).

export interface ListCallsInput extends CallRangeInput {
	/** Caller number (digits match however they are written), agent name or id, title or summary text. */
	search?: string;
	status?: string;
	page: number;
	pageSize: number;
}

export interface CallListRow {
	conversationId: string;
	startedAt: Date;
	direction: string | null;
	externalNumber: string | null;
	agentId: string;
	agentName: string | null;
	durationSecs: number;
	status: string;
	callSuccessful: string | null;
	title: string | null;
	summary: string | null;
}

export interface CallList {
	range: CallRange;
	rows: CallListRow[];
	total: number;
	page: number;
	pageSize: number;
}

function escapeLike(s: string) {
	return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

// Looks like a phone number being typed ("+1 (415) 555-01"): match its digits against the stored number's digits.
const PHONE_LIKE = /^[\d\s()+.-]+$/;

function searchCondition(raw: string | undefined): SQL | undefined {
	const q = raw?.trim();
	if (!q) return undefined;
	const pattern = `%${escapeLike(q)}%`;
	const digits = q.replace(/\D/g, '');
	return or(
		ilike(conversation.externalNumber, pattern),
		PHONE_LIKE.test(q) && digits.length >= 3
			? sql`regexp_replace(${conversation.externalNumber}, '[^0-9]', '', 'g') like ${`%${digits}%`}`
			: undefined,
		ilike(elevenlabsAgent.name, pattern),
		ilike(conversation.agentId, pattern),
		ilike(conversation.title, pattern),
		ilike(conversation.summary, pattern)
	);
}

/** The tenant's calls in `range` that match the search and status: the one filter of the list and the export. */
export function callFilter(tenantId: string, range: { start: Date; end: Date }, input: { search?: string; status?: string }): SQL | undefined {
	return and(
		eq(conversation.tenantId, tenantId),
		isNotNull(conversation.status),
		gte(conversation.startedAt, range.start),
		lt(conversation.startedAt, range.end),
		input.status ? eq(conversation.status, input.status) : undefined,
		searchCondition(input.search)
	);
}

// Agent names live per connection; a conversation's agent is (connection, agent id).
export const agentJoin = and(eq(elevenlabsAgent.connectionId, conversation.connectionId), eq(elevenlabsAgent.agentId, conversation.agentId));

/** The columns of a call row as the calls table and its CSV export show it. */
export const callListColumns = {
	conversationId: conversation.conversationId,
	startedAt: conversation.startedAt,
	direction: conversation.direction,
	externalNumber: conversation.externalNumber,
	agentId: conversation.agentId,
	agentName: elevenlabsAgent.name,
	durationSecs: conversation.durationSecs,
	status: conversation.status,
	callSuccessful: conversation.callSuccessful,
	title: conversation.title,
	summary: conversation.summary
};

/** The tenant's calls in a range of local days, newest first, searched and filtered, one page at a time. */
export async function listCalls({ ctx, input }: { ctx: CallsCtx; input: ListCallsInput }): Promise<CallList> {
	const range = resolveCallRange(input, ctx.tenant.timezone);
	const where = callFilter(ctx.tenant.id, range, input);
	const [rows, [{ total }]] = await Promise.all([
		ctx.db
			.select(callListColumns)
			.from(conversation)
			.leftJoin(elevenlabsAgent, agentJoin)
			.where(where)
			.orderBy(desc(conversation.startedAt), desc(conversation.conversationId))
			.limit(input.pageSize)
			.offset((input.page - 1) * input.pageSize),
		ctx.db.select({ total: count() }).from(conversation).leftJoin(elevenlabsAgent, agentJoin).where(where)
	]);
	return {
		range: publicRange(range),
		// startedAt and status are non-null by the WHERE clause above.
		rows: rows as CallListRow[],
		total,
		page: input.page,
		pageSize: input.pageSize
	};
}
