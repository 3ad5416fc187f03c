import type { ClickHouseClient } from '@clickhouse/client';
import { queryRows } from '../../client';
import { ident, sql } from '../../literal';
import { rangeWhere, tenantWhere } from '../../scope';
import { CALLS_15M_TABLE } from '../../tables';
import { TenantCallTotalsRow, type TenantCallTotals } from './tenant-call-totals';

// The dashboard's call totals of one tenant, from the calls_15m rollup: a few rows per quarter hour instead of a
// FINAL read of every event. Equal to tenant-call-totals.ts (call_events FINAL) whenever `from` and `to` fall on
// quarter hours, which local-day bounds do in every IANA zone: a call's bucket is in the range exactly when its
// start is. The rollup relies on the relay never inserting an event twice (relay.ts); tests compare the two.

export { TenantCallTotalsRow, type TenantCallTotals };

export async function queryTenantCallRollupTotals(
	ch: ClickHouseClient,
	input: { tenantId: string; from?: Date; to?: Date }
): Promise<TenantCallTotals> {
	const [row] = await queryRows(
		ch,
		// The inner query renames `calls`: ClickHouse resolves aliases globally, so `sumIf(calls, …)` beside
		// `sum(calls) AS calls` would nest one aggregate in another.
		sql`SELECT
				sum(n) AS calls,
				sum(secs) AS durationSecs,
				sum(credits) AS cost,
				sumIf(n, status = 'done') AS done,
				sumIf(n, status = 'failed') AS failed,
				sumIf(n, call_successful = 'success') AS successful
			FROM (
				SELECT calls AS n, duration_secs AS secs, cost AS credits, status, call_successful
				FROM ${ident(CALLS_15M_TABLE)}
				WHERE ${tenantWhere(input.tenantId)} AND ${rangeWhere('bucket', input.from, input.to)}
			)`,
		TenantCallTotalsRow
	);
	return row;
}
