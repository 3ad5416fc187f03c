import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { queryRows } from '../../client';
import { ident, sql } from '../../literal';
import { rangeWhere, tenantWhere } from '../../scope';
import { CALL_EVENTS_TABLE } from '../../tables';

// Exact call totals of one tenant from call_events. FINAL collapses any event the relay delivered twice
// (ReplacingMergeTree on event_id), and sign cancels every superseded version, so this is the reference figure
// the rollups are checked against (tests, soak). Dashboards read tenant-call-rollup-totals.ts instead.

export const TenantCallTotalsRow = z.object({
	calls: z.coerce.number(),
	durationSecs: z.coerce.number(),
	cost: z.coerce.number(),
	done: z.coerce.number(),
	failed: z.coerce.number(),
	successful: z.coerce.number()
});
export type TenantCallTotals = z.infer<typeof TenantCallTotalsRow>;

export async function queryTenantCallTotals(
	ch: ClickHouseClient,
	input: { tenantId: string; from?: Date; to?: Date }
): Promise<TenantCallTotals> {
	const [row] = await queryRows(
		ch,
		sql`SELECT
				sum(sign) AS calls,
				sum(sign * toInt64(duration_secs)) AS durationSecs,
				sum(sign * cost) AS cost,
				sumIf(sign, status = 'done') AS done,
				sumIf(sign, status = 'failed') AS failed,
				sumIf(sign, call_successful = 'success') AS successful
			FROM ${ident(CALL_EVENTS_TABLE)} FINAL
			WHERE ${tenantWhere(input.tenantId)} AND ${rangeWhere('started_at', input.from, input.to)}`,
		TenantCallTotalsRow
	);
	return row;
}
