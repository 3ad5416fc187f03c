import type { Handle, HandleServerError } from '@sveltejs/kit';
import { sequence } from '@sveltejs/kit/hooks';
import { blankSessionCookie, SESSION_COOKIE, validateSessionToken, type CookieSpec } from '$lib/server/auth/session';
import { getDb } from '$lib/server/db/index';
import { env } from '$lib/server/env';
import { log } from '$lib/server/log';
import { reportFailure, reportSuccess } from '$lib/server/outage';

function applyCookie(event: Parameters<Handle>[0]['event'], c: CookieSpec) {
	event.cookies.set(c.name, c.value, c.attributes);
}

// Session cookie → event.locals. An unknown or expired session clears the cookie; an extended one re-sends it.
const handleSession: Handle = async ({ event, resolve }) => {
	event.locals.user = null;
	event.locals.session = null;
	const token = event.cookies.get(SESSION_COOKIE);
	if (token) {
		const result = await validateSessionToken(getDb().db, token);
		if (result) {
			event.locals.user = result.user;
			event.locals.session = result.session;
			if (result.cookie) applyCookie(event, result.cookie);
		} else {
			applyCookie(event, blankSessionCookie());
		}
	}
	return resolve(event);
};

// SvelteKit checks the origin of form posts; the tRPC endpoint takes JSON, so check its mutations here too
// (a cross-site page could otherwise post text/plain bodies with the user's cookie).
const handleApiOrigin: Handle = async ({ event, resolve }) => {
	if (event.request.method === 'POST' && event.url.pathname.startsWith('/api/trpc')) {
		const origin = event.request.headers.get('origin');
		if (origin !== null && origin !== event.url.origin) {
			return new Response('Cross-site API requests are forbidden', { status: 403 });
		}
	}
	return resolve(event);
};

const SECURITY_HEADERS: Record<string, string> = {
	'x-content-type-options': 'nosniff',
	'x-frame-options': 'DENY',
	'referrer-policy': 'same-origin',
	'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
	// Script and style sources are left to SvelteKit (hydration uses inline scripts); these need no nonce.
	'content-security-policy': "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
};

const PAGES_COMPONENT = 'web pages';

const handleSecurityHeaders: Handle = async ({ event, resolve }) => {
	const response = await resolve(event);
	if (response.status < 500) reportSuccess(PAGES_COMPONENT);
	try {
		for (const [k, v] of Object.entries(SECURITY_HEADERS)) if (!response.headers.has(k)) response.headers.set(k, v);
		if (env().ORIGIN.startsWith('https:')) response.headers.set('strict-transport-security', 'max-age=31536000; includeSubDomains');
		// Pages of a signed-in user are theirs alone.
		if (event.locals.user && !response.headers.has('cache-control')) response.headers.set('cache-control', 'private, no-store');
	} catch {
		// Some responses (e.g. Response.redirect) have immutable headers; they carry no content to protect.
	}
	return response;
};

export const handle = sequence(handleApiOrigin, handleSession, handleSecurityHeaders);

// Unexpected errors: the cause stays in the server log, the browser gets a generic message.
// PostgreSQL being away is an outage, summarised once by the reporter rather than a stack per request.
export const handleError: HandleServerError = ({ error, event, status, message }) => {
	if (status >= 500 && !reportFailure(PAGES_COMPONENT, error, 'requests failed')) log.error('request failed', { path: event.url.pathname, status, err: error });
	return { message: status >= 500 ? 'Something went wrong' : message };
};
