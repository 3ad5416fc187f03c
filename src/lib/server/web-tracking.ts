import type { IncomingMessage, ServerResponse } from 'node:http';
import { log } from './log';
import { getTrackingIntake, recordTrackingHit, type TrackingHitInput, type TrackingHitResult, type TrackingIntake } from './services/tracking/index';

// The public tracking endpoints as HTTP: GET/HEAD /q/<code> (a QR scan: 302 to the landing page) and
// GET/HEAD /t/p.gif?vx=<code>&u=<page> (a page view: a 1×1 GIF). The production web server (web-server.ts) serves
// them here on bare node:http, like webhooks; the SvelteKit routes (src/routes/q, src/routes/t) serve `vite dev`.
// Both build their answer with trackingAnswer, so they answer identically. The beacon script is static/t/vx.js.

const SCAN_PATH = /^\/q\/([^/?#]*)\/?(?:\?.*)?$/;
const PIXEL_PATH = /^\/t\/p\.gif(?:\?(.*))?$/;

/** A transparent 1×1 GIF. */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

export interface TrackingAnswer {
	status: number;
	headers: Record<string, string>;
	body: Uint8Array | string;
}

const NO_STORE = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
const text = (status: number, body: string, extra: Record<string, string> = {}): TrackingAnswer => ({
	status,
	headers: { ...NO_STORE, 'content-type': 'text/plain; charset=utf-8', ...extra },
	body
});

/** The HTTP answer to a tracking hit. Nothing in it names a tenant, a campaign or a recipient. */
export function trackingAnswer(kind: TrackingHitInput['kind'], result: TrackingHitResult): TrackingAnswer {
	switch (result.status) {
		case 302:
			return { status: 302, headers: { ...NO_STORE, location: result.location }, body: '' };
		case 200:
			if (kind === 'page_view') return { status: 200, headers: { ...NO_STORE, 'content-type': 'image/gif' }, body: PIXEL_GIF };
			return text(200, 'Thanks for scanning.\n');
		case 404:
			return text(404, 'Not found\n');
		case 429:
			return text(429, 'Too many requests\n', { 'retry-after': String(result.retryAfterSeconds) });
		case 503:
			return text(503, 'Temporarily unavailable, please try again\n', { 'retry-after': '5' });
	}
}

/** The tracking request a URL path names, or null when it is not one. */
export function trackingRequestFromUrl(url: string | undefined): { kind: TrackingHitInput['kind']; code: string | null; pageUrl: string | null } | null {
	if (!url) return null;
	const scan = SCAN_PATH.exec(url);
	if (scan) {
		let code: string | null = null;
		try {
			code = decodeURIComponent(scan[1]);
		} catch {
			code = null;
		}
		return { kind: 'scan', code, pageUrl: null };
	}
	const pixel = PIXEL_PATH.exec(url);
	if (pixel) {
		const q = new URLSearchParams(pixel[1] ?? '');
		return { kind: 'page_view', code: q.get('vx'), pageUrl: q.get('u') };
	}
	return null;
}

/** The client's address as adapter-node reads it: ADDRESS_HEADER (with XFF_DEPTH for x-forwarded-for) or the socket. */
export function clientAddress(req: IncomingMessage): string {
	const header = process.env.ADDRESS_HEADER?.toLowerCase();
	if (header) {
		const v = req.headers[header];
		const value = Array.isArray(v) ? v[0] : v;
		if (value) {
			if (header !== 'x-forwarded-for') return value.trim();
			const parts = value.split(',').map((p) => p.trim());
			const depth = Number(process.env.XFF_DEPTH ?? 1) || 1;
			return parts[Math.max(0, parts.length - depth)];
		}
	}
	return req.socket.remoteAddress ?? 'unknown';
}

const header = (req: IncomingMessage, name: string): string | null => {
	const v = req.headers[name];
	return typeof v === 'string' ? v : null;
};

/** Request headers browsers set on speculative loads (prefetch, link previews). */
export function purposeOf(get: (name: string) => string | null): string | null {
	return get('sec-purpose') ?? get('purpose') ?? get('x-purpose') ?? get('x-moz');
}

/** Serves one tracking request on a Node request; true when the URL was one (GET or HEAD only). */
export function handleTrackingRequest(req: IncomingMessage, res: ServerResponse, intake: TrackingIntake = getTrackingIntake()): boolean {
	if (req.method !== 'GET' && req.method !== 'HEAD') return false;
	const parsed = trackingRequestFromUrl(req.url);
	if (!parsed) return false;
	const method = req.method;
	void recordTrackingHit({
		ctx: intake,
		input: {
			kind: parsed.kind,
			code: parsed.code,
			url: parsed.pageUrl,
			method,
			userAgent: header(req, 'user-agent'),
			purpose: purposeOf((n) => header(req, n)),
			address: clientAddress(req)
		}
	})
		.then((result) => {
			const a = trackingAnswer(parsed.kind, result);
			const body = typeof a.body === 'string' ? Buffer.from(a.body) : a.body;
			res.writeHead(a.status, { ...a.headers, 'content-length': String(body.byteLength) });
			res.end(method === 'HEAD' ? undefined : body);
		})
		.catch((err: unknown) => {
			log.error('tracking request failed', { err });
			if (!res.headersSent) {
				res.writeHead(500, { 'content-type': 'text/plain' });
				res.end('Internal error\n');
			} else res.destroy();
		});
	return true;
}
