import { trackingAnswer, purposeOf } from '$lib/server/web-tracking';
import { getTrackingIntake, recordTrackingHit } from '$lib/server/services/tracking/index';
import type { RequestHandler } from './$types';

// The page-view pixel (static/t/vx.js requests it). Served on bare node:http in production (web-tracking.ts);
// this route serves `vite dev`, through the same intake verb and answer.
const pixel: RequestHandler = async ({ request, url, getClientAddress }) => {
	const result = await recordTrackingHit({
		ctx: getTrackingIntake(),
		input: {
			kind: 'page_view',
			code: url.searchParams.get('vx'),
			url: url.searchParams.get('u'),
			method: request.method,
			userAgent: request.headers.get('user-agent'),
			purpose: purposeOf((n) => request.headers.get(n)),
			address: getClientAddress()
		}
	});
	const a = trackingAnswer('page_view', result);
	// No body for HEAD or a redirect (an empty string would make the Response add a text/plain content type).
	return new Response(request.method === 'HEAD' || a.body === '' ? null : (a.body as BodyInit), { status: a.status, headers: a.headers });
};

export const GET = pixel;
export const HEAD = pixel;
