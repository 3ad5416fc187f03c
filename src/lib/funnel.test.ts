import { describe, expect, it } from 'vitest';
import { beaconSnippet, buildFunnelSteps } from './funnel';

describe('buildFunnelSteps', () => {
	it.each([
		[
			'a typical drop',
			{ sent: 2000, scans: { events: 260, recipients: 200 }, pageViews: { events: 400, recipients: 150 } },
			[
				{ recipients: '2,000', events: null, rate: null, widthPct: 100 },
				{ recipients: '200', events: '260', rate: '10% of sent', widthPct: 10 },
				{ recipients: '150', events: '400', rate: '75% of scanners', widthPct: 7.5 }
			]
		],
		[
			'nothing sent yet',
			{ sent: 0, scans: { events: 0, recipients: 0 }, pageViews: { events: 0, recipients: 0 } },
			[
				{ recipients: '0', events: null, rate: null, widthPct: 0 },
				{ recipients: '0', events: '0', rate: '— of sent', widthPct: 0 },
				{ recipients: '0', events: '0', rate: '— of scanners', widthPct: 0 }
			]
		],
		[
			'more viewers than scanners in the range (they scanned before it)',
			{ sent: 10, scans: { events: 1, recipients: 1 }, pageViews: { events: 30, recipients: 12 } },
			[
				{ recipients: '10', events: null, rate: null, widthPct: 100 },
				{ recipients: '1', events: '1', rate: '10% of sent', widthPct: 10 },
				{ recipients: '12', events: '30', rate: '1200% of scanners', widthPct: 100 }
			]
		]
	])('%s', (_, counts, expected) => {
		expect(buildFunnelSteps(counts).map(({ recipients, events, rate, widthPct }) => ({ recipients, events, rate, widthPct }))).toEqual(expected);
	});
});

it('beaconSnippet names the app origin once', () => {
	expect(beaconSnippet('https://app.voxcalls.test/')).toBe('<script async src="https://app.voxcalls.test/t/vx.js"></script>');
});
