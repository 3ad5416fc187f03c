import { formatNumber, formatPercent } from './format';

// The top of a campaign's funnel as the page shows it (client-safe; the server's shape is the same, see
// services/campaigns/funnel.ts): three steps with events, unique recipients, each step's share of the one before,
// and a bar width relative to "sent".

export interface FunnelCountsView {
	sent: number;
	scans: { events: number; recipients: number };
	pageViews: { events: number; recipients: number };
}

export interface FunnelStepView {
	key: 'sent' | 'scans' | 'pageViews';
	label: string;
	/** Unique recipients at this step. */
	recipients: string;
	/** Events behind it (scans, page views); null for "sent". */
	events: string | null;
	/** Unique recipients as a share of the step before ("of sent", "of scanners"); null for the first step. */
	rate: string | null;
	/** Bar width, 0–100, relative to sent (capped: page views can outnumber scanners in a range). */
	widthPct: number;
}

const width = (n: number, of: number) => (of > 0 ? Math.min(100, Math.round((n / of) * 1000) / 10) : 0);

export function buildFunnelSteps(f: FunnelCountsView): FunnelStepView[] {
	return [
		{ key: 'sent', label: 'Sent', recipients: formatNumber(f.sent), events: null, rate: null, widthPct: f.sent > 0 ? 100 : 0 },
		{
			key: 'scans',
			label: 'QR scans',
			recipients: formatNumber(f.scans.recipients),
			events: formatNumber(f.scans.events),
			rate: `${formatPercent(f.scans.recipients, f.sent)} of sent`,
			widthPct: width(f.scans.recipients, f.sent)
		},
		{
			key: 'pageViews',
			label: 'Page views',
			recipients: formatNumber(f.pageViews.recipients),
			events: formatNumber(f.pageViews.events),
			rate: `${formatPercent(f.pageViews.recipients, f.scans.recipients)} of scanners`,
			widthPct: width(f.pageViews.recipients, f.sent)
		}
	];
}

/** The tag a marketer pastes into the landing site to count its page views. */
export function beaconSnippet(origin: string): string {
	return `<script async src="${origin.replace(/\/$/, '')}/t/vx.js"></script>`;
}
