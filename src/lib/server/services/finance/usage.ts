import { sql } from 'drizzle-orm';
import { addDecimals, subtractDecimal } from '../../../decimal';
import { dayRangeToInstants, monthRange, type IsoMonth } from '../../../days';
import type { DbOrTx } from '../../db/client';
import type { BillingRule } from './rules';

// What a tenant's calls in a window come to under a billing rule, computed in PostgreSQL (the source of truth) with
// numeric arithmetic: per agent, then totalled here from the per-agent text with exact decimals.
// A campaign breakdown (attribution issue) adds a campaign column to the GROUP BY and to statement_line.campaign_id.

export interface UsageFigures {
	calls: number;
	connectedSecs: number;
	billableSecs: number;
	/** Billable seconds beyond the month's included allowance: what the price is charged on. */
	chargeableSecs: number;
	/** Upstream (ElevenLabs) credits × the connection's rate; decimal text, scale 6. */
	upstreamCost: string;
	/** Per started minute × the number's rate; decimal text, scale 6. */
	telephonyCost: string;
	/** chargeable minutes × price per minute, rounded to the cent per agent line; decimal text, scale 2. */
	price: string;
}

export interface AgentUsage extends UsageFigures {
	agentId: string;
}

export const ZERO_FIGURES: UsageFigures = {
	calls: 0,
	connectedSecs: 0,
	billableSecs: 0,
	chargeableSecs: 0,
	upstreamCost: '0.000000',
	telephonyCost: '0.000000',
	price: '0.00'
};

/** A month of a tenant as instants: its local midnights in `timezone` (DST changes included). */
export function monthWindow(month: IsoMonth, timezone: string): { start: Date; end: Date } {
	const { from, to } = monthRange(month);
	return dayRangeToInstants(from, to, timezone);
}

export function sumFigures(rows: readonly UsageFigures[]): UsageFigures {
	return {
		calls: rows.reduce((n, r) => n + r.calls, 0),
		connectedSecs: rows.reduce((n, r) => n + r.connectedSecs, 0),
		billableSecs: rows.reduce((n, r) => n + r.billableSecs, 0),
		chargeableSecs: rows.reduce((n, r) => n + r.chargeableSecs, 0),
		upstreamCost: addDecimals(
			rows.map((r) => r.upstreamCost),
			6
		),
		telephonyCost: addDecimals(
			rows.map((r) => r.telephonyCost),
			6
		),
		price: addDecimals(
			rows.map((r) => r.price),
			2
		)
	};
}

export function subtractFigures(a: UsageFigures, b: UsageFigures): UsageFigures {
	return {
		calls: a.calls - b.calls,
		connectedSecs: a.connectedSecs - b.connectedSecs,
		billableSecs: a.billableSecs - b.billableSecs,
		chargeableSecs: a.chargeableSecs - b.chargeableSecs,
		upstreamCost: subtractDecimal(a.upstreamCost, b.upstreamCost, 6),
		telephonyCost: subtractDecimal(a.telephonyCost, b.telephonyCost, 6),
		price: subtractDecimal(a.price, b.price, 2)
	};
}

export function isZeroFigures(f: UsageFigures): boolean {
	return (
		f.calls === 0 &&
		f.connectedSecs === 0 &&
		f.billableSecs === 0 &&
		f.chargeableSecs === 0 &&
		/^-?0\.0+$/.test(f.upstreamCost) &&
		/^-?0\.0+$/.test(f.telephonyCost) &&
		/^-?0\.0+$/.test(f.price)
	);
}

type Row = {
	agent_id: string;
	calls: number;
	connected_secs: string;
	billable_secs: string;
	chargeable_secs: string;
	upstream_cost: string;
	telephony_cost: string;
	price: string;
};

/**
 * Per-agent usage of a tenant's final calls (done, failed) that started in [start, end). Billable seconds per call:
 * ceil(max(duration, minimum) / unit) × unit for done calls and, when the rule counts them, failed ones. The
 * allowance is used up in call order (start time, then id): the call that crosses it is charged only for its part
 * beyond it. Rates are linear, so they apply to sums per (agent, connection, number) rather than per call.
 */
export async function computeUsage(
	db: DbOrTx,
	input: { tenantId: string; start: Date; end: Date; rule: Pick<BillingRule, 'roundingSecs' | 'minBillableSecs' | 'countFailedCalls' | 'includedMinutes' | 'pricePerMinute'> }
): Promise<AgentUsage[]> {
	const { rule } = input;
	const includedSecs = rule.includedMinutes * 60;
	const rows = (await db.execute(sql`
		with calls as (
			select c.conversation_id, c.agent_id, c.connection_id, coalesce(c.agent_number, '') as agent_number, c.started_at,
				c.duration_secs, coalesce(c.cost, 0) as credits,
				case when c.status = 'done' or (c.status = 'failed' and ${rule.countFailedCalls}::boolean)
					then (ceil(greatest(c.duration_secs, ${rule.minBillableSecs}::int)::numeric / ${rule.roundingSecs}::int) * ${rule.roundingSecs}::int)::bigint
					else 0::bigint end as billable_secs
			from conversation c
			where c.tenant_id = ${input.tenantId}::uuid and c.started_at >= ${input.start.toISOString()}::timestamptz
				and c.started_at < ${input.end.toISOString()}::timestamptz and c.status in ('done', 'failed')
		), charged as (
			select *, greatest(0, least(billable_secs,
				sum(billable_secs) over (order by started_at, conversation_id rows between unbounded preceding and current row) - ${includedSecs}::bigint
			))::bigint as chargeable_secs
			from calls
		), grouped as (
			select agent_id, connection_id, agent_number, count(*)::int as calls, sum(duration_secs)::bigint as connected_secs,
				sum(billable_secs)::bigint as billable_secs, sum(chargeable_secs)::bigint as chargeable_secs, sum(credits) as credits,
				sum(ceil(duration_secs / 60.0))::bigint as started_minutes
			from charged
			group by agent_id, connection_id, agent_number
		)
		select g.agent_id, sum(g.calls)::int as calls, sum(g.connected_secs)::text as connected_secs,
			sum(g.billable_secs)::text as billable_secs, sum(g.chargeable_secs)::text as chargeable_secs,
			round(sum(g.credits * coalesce(r.per_credit, 0)), 6)::numeric(18, 6)::text as upstream_cost,
			round(sum(g.started_minutes * coalesce(tr.per_minute, 0)), 6)::numeric(18, 6)::text as telephony_cost,
			round(sum(g.chargeable_secs) * ${rule.pricePerMinute}::numeric / 60, 2)::numeric(18, 2)::text as price
		from grouped g
		left join upstream_credit_rate r on r.connection_id = g.connection_id
		left join lateral (
			select t.per_minute from telephony_rate t
			where (t.tenant_id = ${input.tenantId}::uuid or t.tenant_id is null) and (t.phone_number = g.agent_number or t.phone_number is null)
			order by (t.phone_number is null), (t.tenant_id is null)
			limit 1
		) tr on true
		group by g.agent_id
		order by g.agent_id`)) as unknown as Row[];
	return rows.map((r) => ({
		agentId: r.agent_id,
		calls: r.calls,
		connectedSecs: Number(r.connected_secs),
		billableSecs: Number(r.billable_secs),
		chargeableSecs: Number(r.chargeable_secs),
		upstreamCost: r.upstream_cost,
		telephonyCost: r.telephony_cost,
		price: r.price
	}));
}
