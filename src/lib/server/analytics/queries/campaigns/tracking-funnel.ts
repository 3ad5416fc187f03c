import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { queryRows } from '../../client';
import { ident, sql } from '../../literal';
import { rangeWhere, tenantWhere } from '../../scope';
import { TRACKING_EVENTS_TABLE } from '../../tables';

// Scans and page views of one campaign in [from, to), per drop and for the whole campaign: events and exact unique
// recipients. Read from tracking_events FINAL (a row the relay ever re-inserted counts once). A recipient counts
// when its events net positive over `sign`, so a future retraction removes it from the uniques too: uniqExact over
// the recipients left after netting, never a sign-weighted sum of distinct counts (which is not exact).

export const FunnelStepRow = z.object({
	dropId: z.string(),
	kind: z.enum(['scan', 'page_view']),
	events: z.coerce.number(),
	recipients: z.coerce.number()
});
export type FunnelStep = z.infer<typeof FunnelStepRow>;

export async function queryCampaignTrackingFunnel(
	ch: ClickHouseClient,
	input: { tenantId: string; campaignId: string; from: Date; to: Date }
): Promise<{ perDrop: FunnelStep[]; campaign: FunnelStep[] }> {
	const netted = sql`
		SELECT drop_id, kind, recipient_id, sum(sign) AS n
		FROM ${ident(TRACKING_EVENTS_TABLE)} FINAL
		WHERE ${tenantWhere(input.tenantId)} AND campaign_id = toUUID(${input.campaignId})
			AND ${rangeWhere('occurred_at', input.from, input.to)}
		GROUP BY drop_id, kind, recipient_id
		HAVING n > 0`;
	const [perDrop, campaign] = await Promise.all([
		queryRows(
			ch,
			sql`SELECT toString(drop_id) AS dropId, kind, sum(n) AS events, uniqExact(recipient_id) AS recipients
				FROM (${netted}) GROUP BY drop_id, kind ORDER BY dropId, kind`,
			FunnelStepRow
		),
		queryRows(
			ch,
			sql`SELECT '' AS dropId, kind, sum(n) AS events, uniqExact(recipient_id) AS recipients
				FROM (${netted}) GROUP BY kind ORDER BY kind`,
			FunnelStepRow
		)
	]);
	return { perDrop, campaign };
}
