import { trackingAnswer, purposeOf } from '$lib/server/web-tracking';
import { getTrackingIntake, recordTrackingHit } from '$lib/server/services/tracking/index';
import type { RequestHandler } from './$types';

// A QR scan. The production web server answers these on bare node:http (web-tracking.ts); this route serves
// `vite dev`, through the same intake verb and answer.
const scan: RequestHandler = async ({ request, params, getClientAddress }) => {
	const result = await recordTrackingHit({
		ctx: getTrackingIntake(),
		input: {
			kind: 'scan',
			code: params.code,
			method: request.method,
			userAgent: request.headers.get('user-agent'),
			purpose: purposeOf((n) => request.headers.get(n)),
			address: getClientAddress()
		}
	});
	const a = trackingAnswer('scan', result);
	// No body for HEAD or a redirect (an empty string would make the Response add a text/plain content type).
	return new Response(request.method === 'HEAD' || a.body === '' ? null : (a.body as BodyInit), { status: a.status, headers: a.headers });
};

export const GET = scan;
export const HEAD = scan;
