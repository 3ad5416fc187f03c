import type { ClickHouseClient } from '@clickhouse/client';
import { and, asc, count, countDistinct, eq, lte } from 'drizzle-orm';
import { addDays, dayRangeToInstants, daysBetween, todayInZone, type IsoDay } from '../../../days';
import { getClickHouse } from '../../analytics/client';
import { queryCampaignTrackingFunnel, type FunnelStep } from '../../analytics/queries/campaigns/tracking-funnel';
import { mailDrop, recipientDrop } from '../../db/schema/index';
import { DomainError } from '../../errors';
import type { TenantServiceCtx } from '../context';
import { fetchCampaignOrThrow } from './index';

// The top of a campaign's funnel: sent → QR scans → page views, for the campaign and for each mail drop, over a
// range of the tenant's local days. "Sent" comes from PostgreSQL (recipients of completed drops sent on or before
// the range's last day: the people who could have scanned in it); scans and views from ClickHouse, with exact
// unique recipients. A recipient reached by several drops counts once in the campaign's sent and in each drop's.
// Each scan or view belongs to one drop: the latest drop that reached its recipient on or before that day.

export interface FunnelCtx extends TenantServiceCtx {
	ch?: ClickHouseClient;
}

export const DEFAULT_FUNNEL_DAYS = 90;
export const MAX_FUNNEL_DAYS = 366;

export interface CampaignFunnelInput {
	campaignId: string;
	from?: IsoDay;
	to?: IsoDay;
}

export interface FunnelCounts {
	sent: number;
	scans: { events: number; recipients: number };
	pageViews: { events: number; recipients: number };
	/** Unique recipients who scanned / sent; null when nothing was sent. */
	scanRate: number | null;
	/** Unique recipients with a page view / unique recipients who scanned; null without scans. */
	pageViewRate: number | null;
}

export interface CampaignFunnel {
	range: { from: IsoDay; to: IsoDay; timezone: string };
	campaign: FunnelCounts;
	drops: (FunnelCounts & { dropId: string; name: string; sentOn: IsoDay })[];
}

const rate = (n: number, of: number) => (of > 0 ? n / of : null);

function counts(sent: number, steps: FunnelStep[]): FunnelCounts {
	const pick = (kind: FunnelStep['kind']) => {
		const s = steps.find((x) => x.kind === kind);
		return { events: s?.events ?? 0, recipients: s?.recipients ?? 0 };
	};
	const scans = pick('scan');
	const pageViews = pick('page_view');
	return { sent, scans, pageViews, scanRate: rate(scans.recipients, sent), pageViewRate: rate(pageViews.recipients, scans.recipients) };
}

/** The range of local days, defaulting to the last 90 days; BAD_INPUT when reversed or longer than 366 days. */
export function resolveFunnelRange(input: { from?: IsoDay; to?: IsoDay }, timezone: string, now = new Date()) {
	const to = input.to ?? todayInZone(timezone, now);
	const from = input.from ?? addDays(to, -(DEFAULT_FUNNEL_DAYS - 1));
	const span = daysBetween(from, to);
	if (span < 0) throw new DomainError('BAD_INPUT', `The range starts (${from}) after it ends (${to})`, { from, to });
	if (span + 1 > MAX_FUNNEL_DAYS) throw new DomainError('BAD_INPUT', `Choose at most ${MAX_FUNNEL_DAYS} days (this range has ${span + 1})`, { from, to });
	return { from, to, timezone, ...dayRangeToInstants(from, to, timezone) };
}

export async function getCampaignFunnel({ ctx, input }: { ctx: FunnelCtx; input: CampaignFunnelInput }): Promise<CampaignFunnel> {
	// The id comes from the client: checked in PostgreSQL (NOT_FOUND for another tenant's) before ClickHouse is read.
	const c = await fetchCampaignOrThrow(ctx.db, ctx.tenant.id, input.campaignId);
	const range = resolveFunnelRange(input, ctx.tenant.timezone);
	const visibleDrops = and(eq(mailDrop.tenantId, ctx.tenant.id), eq(mailDrop.campaignId, c.id), eq(mailDrop.status, 'completed'), lte(mailDrop.sentOn, range.to));
	const [drops, [{ sent }], tracked] = await Promise.all([
		ctx.db
			.select({ dropId: mailDrop.id, name: mailDrop.name, sentOn: mailDrop.sentOn, sent: count(recipientDrop.recipientId) })
			.from(mailDrop)
			.leftJoin(recipientDrop, eq(recipientDrop.dropId, mailDrop.id))
			.where(visibleDrops)
			.groupBy(mailDrop.id)
			.orderBy(asc(mailDrop.sentOn), asc(mailDrop.createdAt)),
		ctx.db
			.select({ sent: countDistinct(recipientDrop.recipientId) })
			.from(recipientDrop)
			.innerJoin(mailDrop, eq(mailDrop.id, recipientDrop.dropId))
			.where(visibleDrops),
		queryCampaignTrackingFunnel(ctx.ch ?? getClickHouse(), { tenantId: ctx.tenant.id, campaignId: c.id, from: range.start, to: range.end })
	]);
	return {
		range: { from: range.from, to: range.to, timezone: range.timezone },
		campaign: counts(sent, tracked.campaign),
		drops: drops.map((d) => ({
			dropId: d.dropId,
			name: d.name,
			sentOn: d.sentOn,
			...counts(
				d.sent,
				tracked.perDrop.filter((s) => s.dropId === d.dropId)
			)
		}))
	};
}
