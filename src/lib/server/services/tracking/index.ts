import { randomUUID } from 'node:crypto';
import { isbot } from 'isbot';
import { getDb } from '../../db/index';
import { env } from '../../env';
import { log } from '../../log';
import type { TrackingKind } from '../../analytics/tables';
import { AddressRateLimiter } from '../../ingest/tracking-rate-limit';
import { TrackingWriter } from '../../ingest/tracking-writer';
import { normaliseTrackingCode } from '../campaigns/tracking-code';
import { redirectUtm, type RedirectUtm } from './lookup';

// The public tracking intake: QR scans (GET /q/<code>) and landing-page views (the pixel /t/p.gif?vx=<code>).
// The tenant, campaign, drop and recipient all come from the code; nothing in the request can name another.
// In order: the per-address limit (before the code is even read, so guessing codes is throttled too), the code
// (malformed or unknown: 404, nothing recorded), then whether a person made the hit (HEAD, browser prefetch, and
// user agents the maintained `isbot` list knows: chat-app preview fetchers, crawlers, mail-provider scanners that
// say who they are), then one group-committed statement that resolves the code and, for a person's hit, writes the
// event and its outbox row (ingest/tracking-writer.ts), and only then the answer.
// Both adapters (web-tracking.ts on node:http, the SvelteKit routes for `vite dev`) call recordTrackingHit.

export interface TrackingIntake {
	writer: Pick<TrackingWriter, 'record'>;
	limiter: AddressRateLimiter;
}

export interface TrackingHitInput {
	kind: TrackingKind;
	/** The code as it arrived (path segment or `vx`), undecoded noise included. */
	code: string | null;
	method: string;
	userAgent: string | null;
	/** `Sec-Purpose` / `Purpose` / `X-Purpose` / `X-Moz`: set by browsers on speculative prefetches. */
	purpose: string | null;
	/** The client's address; null only for internal callers (the demo seeder), which are not rate limited. */
	address: string | null;
	/** The page a view happened on (pixel `u`). */
	url?: string | null;
	/** When it happened; internal callers only (demo history). Requests always get the server's clock. */
	at?: Date;
}

export type TrackingHitResult =
	| { status: 302; location: string; counted: boolean }
	/** A pixel answered, or a scan of a campaign that has no landing URL yet (a plain thank-you page). */
	| { status: 200; counted: boolean }
	| { status: 404 }
	| { status: 429; retryAfterSeconds: number }
	| { status: 503 };

/** Why a hit is not a person's (null: it is counted). */
export function uncountedReason(input: Pick<TrackingHitInput, 'method' | 'userAgent' | 'purpose'>): string | null {
	if (input.method === 'HEAD') return 'head';
	if (input.purpose && /prefetch|preview/i.test(input.purpose)) return 'prefetch';
	const ua = input.userAgent?.trim() ?? '';
	// No browser a person uses leaves its user agent out; scripts and scanners do.
	if (ua === '') return 'no user agent';
	if (isbot(ua)) return 'bot';
	return null;
}

const MAX_URL_CHARS = 2048;

/**
 * The landing URL with its own query kept, plus `vx=<code>` and the UTM parameters. A UTM parameter the landing URL
 * already carries is the marketer's explicit choice and stays; otherwise the campaign's own UTM values, else the
 * defaults (source `qr`, medium the campaign's channel, campaign its name).
 */
export function buildLandingRedirect(target: { landingUrl: string; utm: RedirectUtm }, code: string): string {
	const url = new URL(target.landingUrl);
	for (const [key, value] of Object.entries(target.utm)) {
		if (value && !url.searchParams.has(key)) url.searchParams.set(key, value);
	}
	url.searchParams.set('vx', code);
	return url.toString();
}

/** Records one scan or page view if a person made it, and says how to answer. */
export async function recordTrackingHit({ ctx, input }: { ctx: TrackingIntake; input: TrackingHitInput }): Promise<TrackingHitResult> {
	if (input.address !== null) {
		const verdict = ctx.limiter.hit(input.address);
		if (!verdict.ok) return { status: 429, retryAfterSeconds: verdict.retryAfterSeconds };
	}
	const code = input.code === null ? null : normaliseTrackingCode(input.code);
	if (code === null) return { status: 404 };
	const counted = uncountedReason(input) === null;
	let target;
	try {
		target = await ctx.writer.record({
			id: randomUUID(),
			code,
			kind: input.kind,
			occurredAt: input.at ?? new Date(),
			url: input.kind === 'page_view' && input.url ? input.url.slice(0, MAX_URL_CHARS) : null,
			counted
		});
	} catch (err) {
		// Not durable, so not answered as if it were: a redirect sent now would be a scan nobody can count.
		log.error('tracking hit could not be recorded', { err, kind: input.kind });
		return { status: 503 };
	}
	if (!target) return { status: 404 };
	const landingUrl = target.campaign.landingUrl;
	if (input.kind === 'scan' && landingUrl) {
		return { status: 302, location: buildLandingRedirect({ landingUrl, utm: redirectUtm(target.campaign) }, code), counted };
	}
	return { status: 200, counted };
}

let shared: TrackingIntake | undefined;

/** The web process's intake, over the process-wide pool. */
export function getTrackingIntake(): TrackingIntake {
	if (!shared) {
		const handle = getDb();
		shared = {
			writer: new TrackingWriter(handle.sql),
			limiter: new AddressRateLimiter(env().TRACKING_RATE_LIMIT_PER_MINUTE)
		};
	}
	return shared;
}

/** For the web server's graceful stop: resolves once every accepted hit is committed. */
export async function drainTrackingIntake(): Promise<void> {
	const w = shared?.writer;
	if (w instanceof TrackingWriter) await w.drain();
}
