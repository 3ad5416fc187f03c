import type { ResolvedTrackingHit } from '../../ingest/tracking-writer';

// The redirect's UTM values for a campaign: the campaign's own, else the defaults (source `voxcalls`, medium the
// campaign's channel, campaign its name).

export type RedirectUtm = { utm_source: string; utm_medium: string; utm_campaign: string };

export function redirectUtm(c: ResolvedTrackingHit['campaign']): RedirectUtm {
	return {
		utm_source: c.utmSource || 'voxcalls',
		utm_medium: c.utmMedium || c.channel,
		utm_campaign: c.utmCampaign || c.name
	};
}
