import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { queryRows } from '../../client';
import { ident, sql } from '../../literal';
import { rangeWhere, tenantWhere } from '../../scope';
import { CALLS_15M_TABLE } from '../../tables';

// Calls per local day of one tenant, from the calls_15m rollup. Quarter-hour buckets cut cleanly at any IANA
// zone's midnight (offsets of :30 and :45 included), so days are the tenant's, not UTC's. `timezone` is the
// tenant's own setting, passed as a literal (18.16 accepts a constant zone argument).

export const TenantDailyCallsRow = z.object({
	day: z.string(),
	calls: z.coerce.number(),
	durationSecs: z.coerce.number(),
	cost: z.coerce.number()
});
export type TenantDailyCalls = z.infer<typeof TenantDailyCallsRow>;

export async function queryTenantDailyCalls(
	ch: ClickHouseClient,
	input: { tenantId: string; timezone: string; from: Date; to: Date }
): Promise<TenantDailyCalls[]> {
	return queryRows(
		ch,
		sql`SELECT
				toString(toDate(bucket, ${input.timezone})) AS day,
				sum(calls) AS calls,
				sum(duration_secs) AS durationSecs,
				sum(cost) AS cost
			FROM ${ident(CALLS_15M_TABLE)}
			WHERE ${tenantWhere(input.tenantId)} AND ${rangeWhere('bucket', input.from, input.to)}
			GROUP BY day
			HAVING calls != 0 OR durationSecs != 0
			ORDER BY day`,
		TenantDailyCallsRow
	);
}
