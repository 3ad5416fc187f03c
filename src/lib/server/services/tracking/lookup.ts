import { and, asc, eq } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { campaign, mailDrop, recipient, recipientDrop, tenant, type CampaignChannel } from '../../db/schema/index';
import { normaliseTrackingCode } from '../campaigns/tracking-code';

// What a public tracking code resolves to: its recipient, campaign, tenant and the completed drops that reached the
// recipient. Only completed imports are visible (a drop still importing, failed or cancelled does not exist here).

export interface TrackingTarget {
	code: string;
	tenantId: string;
	timezone: string;
	campaignId: string;
	recipientId: string;
	/** Completed drops that reached the recipient, oldest first (never empty). */
	drops: { dropId: string; sentOn: string }[];
	landingUrl: string | null;
	/** The redirect's UTM values: the campaign's own, else the defaults. */
	utm: { utm_source: string; utm_medium: string; utm_campaign: string };
}

export function defaultUtm(c: { name: string; channel: CampaignChannel; utmSource: string | null; utmMedium: string | null; utmCampaign: string | null }) {
	return {
		utm_source: c.utmSource || 'voxcalls',
		utm_medium: c.utmMedium || c.channel,
		utm_campaign: c.utmCampaign || c.name
	};
}

/** The target of a code, or null when it is malformed or names nothing visible. */
export async function lookupTrackingCode(db: DbOrTx, rawCode: string): Promise<TrackingTarget | null> {
	const code = normaliseTrackingCode(rawCode);
	if (!code) return null;
	const rows = await db
		.select({
			recipientId: recipient.id,
			tenantId: recipient.tenantId,
			timezone: tenant.timezone,
			campaignId: campaign.id,
			name: campaign.name,
			channel: campaign.channel,
			landingUrl: campaign.landingUrl,
			utmSource: campaign.utmSource,
			utmMedium: campaign.utmMedium,
			utmCampaign: campaign.utmCampaign,
			dropId: mailDrop.id,
			sentOn: mailDrop.sentOn
		})
		.from(recipient)
		.innerJoin(campaign, eq(campaign.id, recipient.campaignId))
		.innerJoin(tenant, eq(tenant.id, recipient.tenantId))
		.innerJoin(recipientDrop, eq(recipientDrop.recipientId, recipient.id))
		.innerJoin(mailDrop, and(eq(mailDrop.id, recipientDrop.dropId), eq(mailDrop.status, 'completed')))
		.where(eq(recipient.trackingCode, code))
		.orderBy(asc(mailDrop.sentOn), asc(mailDrop.createdAt));
	if (rows.length === 0) return null;
	const r = rows[0];
	return {
		code,
		tenantId: r.tenantId,
		timezone: r.timezone,
		campaignId: r.campaignId,
		recipientId: r.recipientId,
		drops: rows.map((d) => ({ dropId: d.dropId, sentOn: d.sentOn })),
		landingUrl: r.landingUrl,
		utm: defaultUtm(r)
	};
}

/**
 * The drop a hit on `day` (the tenant's local day) belongs to: the latest drop sent on or before that day, or the
 * first drop when the hit predates them all (a postcard that arrived before its recorded sent date).
 */
export function dropForDay(drops: TrackingTarget['drops'], day: string): string {
	let chosen = drops[0].dropId;
	for (const d of drops) if (d.sentOn <= day) chosen = d.dropId;
	return chosen;
}

/** A small per-process cache of code lookups (hits and misses), so a burst of scans costs one query per code. */
export class TrackingCodeCache {
	private entries = new Map<string, { at: number; target: TrackingTarget | null }>();
	constructor(
		private readonly ttlMs = 30_000,
		private readonly maxEntries = 100_000
	) {}

	async get(db: DbOrTx, code: string, now = Date.now()): Promise<TrackingTarget | null> {
		const hit = this.entries.get(code);
		if (hit && now - hit.at < this.ttlMs) return hit.target;
		const target = await lookupTrackingCode(db, code);
		if (this.entries.size >= this.maxEntries) this.entries.clear();
		this.entries.set(code, { at: now, target });
		return target;
	}
}
