import type postgres from 'postgres';
import type { CampaignChannel } from '../../db/schema/index';

// What a public tracking code resolves to: its recipient, campaign, tenant and the completed drops that reached the
// recipient. Only completed imports are visible (a drop still importing, failed or cancelled does not exist here). Codes arrive normalised (normaliseTrackingCode).

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

/**
 * The drop a hit on `day` (the tenant's local day) belongs to: the latest drop sent on or before that day, or the
 * first drop when the hit predates them all (a postcard that arrived before its recorded sent date).
 */
export function dropForDay(drops: TrackingTarget['drops'], day: string): string {
	let chosen = drops[0].dropId;
	for (const d of drops) if (d.sentOn <= day) chosen = d.dropId;
	return chosen;
}

// The same lookup as text, for many codes at once: the cache batches concurrent misses into one prepared statement
// (a scan is rarely repeated, so under load nearly every scan is a miss; one planned query per scan cost ~3 ms of
// the database's time, the batch a fraction of that per code). 
const LOOKUP_MANY = `
select r.tracking_code, r.id as recipient_id, r.tenant_id, t.timezone, c.id as campaign_id, c.name, c.channel, c.landing_url,
	c.utm_source, c.utm_medium, c.utm_campaign, d.id as drop_id, d.sent_on::text as sent_on
from recipient r
join campaign c on c.id = r.campaign_id
join tenant t on t.id = r.tenant_id
join recipient_drop rd on rd.recipient_id = r.id
join mail_drop d on d.id = rd.drop_id and d.status = 'completed'
where r.tracking_code = any($1::text[])
order by r.tracking_code, d.sent_on, d.created_at`;

interface LookupRow {
	tracking_code: string;
	recipient_id: string;
	tenant_id: string;
	timezone: string;
	campaign_id: string;
	name: string;
	channel: CampaignChannel;
	landing_url: string | null;
	utm_source: string | null;
	utm_medium: string | null;
	utm_campaign: string | null;
	drop_id: string;
	sent_on: string;
}

/** Looks up many normalised codes in one statement; codes that name nothing visible are absent from the map. */
export async function lookupTrackingCodes(sqlClient: postgres.Sql, codes: string[]): Promise<Map<string, TrackingTarget>> {
	const rows = await sqlClient.unsafe<LookupRow[]>(LOOKUP_MANY, [codes], { prepare: true });
	const out = new Map<string, TrackingTarget>();
	for (const r of rows) {
		const known = out.get(r.tracking_code);
		if (known) {
			known.drops.push({ dropId: r.drop_id, sentOn: r.sent_on });
			continue;
		}
		out.set(r.tracking_code, {
			code: r.tracking_code,
			tenantId: r.tenant_id,
			timezone: r.timezone,
			campaignId: r.campaign_id,
			recipientId: r.recipient_id,
			drops: [{ dropId: r.drop_id, sentOn: r.sent_on }],
			landingUrl: r.landing_url,
			utm: defaultUtm({ name: r.name, channel: r.channel, utmSource: r.utm_source, utmMedium: r.utm_medium, utmCampaign: r.utm_campaign })
		});
	}
	return out;
}

/**
 * Code lookups for the public endpoints: a small per-process cache (hits and misses, 30 s), and concurrent misses
 * gathered into one statement (lookupTrackingCodes), at most a few in flight. A changed landing URL therefore
 * applies within 30 s in every web process.
 */
export class TrackingCodeCache {
	private entries = new Map<string, { at: number; target: TrackingTarget | null }>();
	private waiting = new Map<string, Array<{ resolve: (t: TrackingTarget | null) => void; reject: (e: unknown) => void }>>();
	private scheduled = false;
	private inflight = 0;

	constructor(
		private readonly sqlClient: postgres.Sql,
		private readonly ttlMs = 30_000,
		private readonly maxEntries = 100_000,
		private readonly maxInflight = 2
	) {}

	get(code: string, now = Date.now()): Promise<TrackingTarget | null> {
		const hit = this.entries.get(code);
		if (hit && now - hit.at < this.ttlMs) return Promise.resolve(hit.target);
		return new Promise((resolve, reject) => {
			const list = this.waiting.get(code);
			if (list) list.push({ resolve, reject });
			else this.waiting.set(code, [{ resolve, reject }]);
			this.schedule();
		});
	}

	private schedule(): void {
		if (this.scheduled || this.inflight >= this.maxInflight || this.waiting.size === 0) return;
		this.scheduled = true;
		setImmediate(() => {
			this.scheduled = false;
			this.flush();
		});
	}

	private flush(): void {
		while (this.inflight < this.maxInflight && this.waiting.size > 0) {
			const batch = new Map([...this.waiting].slice(0, 500));
			for (const k of batch.keys()) this.waiting.delete(k);
			this.inflight++;
			lookupTrackingCodes(this.sqlClient, [...batch.keys()])
				.then((found) => {
					const at = Date.now();
					if (this.entries.size + batch.size > this.maxEntries) this.entries.clear();
					for (const [code, waiters] of batch) {
						const target = found.get(code) ?? null;
						this.entries.set(code, { at, target });
						for (const w of waiters) w.resolve(target);
					}
				})
				.catch((err) => {
					for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
				})
				.finally(() => {
					this.inflight--;
					this.schedule();
				});
		}
	}
}
