import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AddressRateLimiter } from '../../ingest/tracking-rate-limit';
import { trackingRequestFromUrl } from '../../web-tracking';
import { buildLandingRedirect, uncountedReason } from './index';

const utm = { utm_source: 'voxcalls', utm_medium: 'direct_mail', utm_campaign: 'Spring 2026' };

describe('buildLandingRedirect', () => {
	it.each([
		['https://a.test/', 'https://a.test/?utm_source=voxcalls&utm_medium=direct_mail&utm_campaign=Spring+2026&vx=ABCDEFGH12'],
		['https://a.test/p?x=1&x=2', 'https://a.test/p?x=1&x=2&utm_source=voxcalls&utm_medium=direct_mail&utm_campaign=Spring+2026&vx=ABCDEFGH12'],
		['https://a.test/p?utm_medium=print#top', 'https://a.test/p?utm_medium=print&utm_source=voxcalls&utm_campaign=Spring+2026&vx=ABCDEFGH12#top'],
		['https://a.test/p?vx=OLD', 'https://a.test/p?vx=ABCDEFGH12&utm_source=voxcalls&utm_medium=direct_mail&utm_campaign=Spring+2026']
	])('%s', (landingUrl, expected) => {
		expect(buildLandingRedirect({ landingUrl, utm }, 'ABCDEFGH12')).toBe(expected);
	});
});

describe('uncountedReason', () => {
	const phone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
	it.each([
		[{ method: 'GET', userAgent: phone, purpose: null }, null],
		[{ method: 'HEAD', userAgent: phone, purpose: null }, 'head'],
		[{ method: 'GET', userAgent: phone, purpose: 'prefetch;anonymous-client-ip' }, 'prefetch'],
		[{ method: 'GET', userAgent: 'facebookexternalhit/1.1', purpose: null }, 'bot'],
		[{ method: 'GET', userAgent: 'TelegramBot (like TwitterBot)', purpose: null }, 'bot'],
		[{ method: 'GET', userAgent: '  ', purpose: null }, 'no user agent'],
		[{ method: 'GET', userAgent: null, purpose: null }, 'no user agent']
	])('%j → %s', (input, reason) => {
		expect(uncountedReason(input)).toBe(reason);
	});
});

describe('trackingRequestFromUrl', () => {
	it.each([
		['/q/ABCDEFGH12', { kind: 'scan', code: 'ABCDEFGH12', pageUrl: null }],
		['/q/ABCDEFGH12/?utm=x', { kind: 'scan', code: 'ABCDEFGH12', pageUrl: null }],
		['/q/%E0%A4%A', { kind: 'scan', code: null, pageUrl: null }],
		['/t/p.gif?vx=ABCDEFGH12&u=https%3A%2F%2Fa.test%2F%3Fa%3D1', { kind: 'page_view', code: 'ABCDEFGH12', pageUrl: 'https://a.test/?a=1' }],
		['/t/p.gif', { kind: 'page_view', code: null, pageUrl: null }],
		['/q/a/b', null],
		['/qr/ABCDEFGH12', null],
		['/t/vx.js', null]
	])('%s', (url, expected) => {
		expect(trackingRequestFromUrl(url)).toEqual(expected);
	});
});

describe('AddressRateLimiter', () => {
	it('refuses past the limit within a window, per address, and says when to come back', () => {
		const l = new AddressRateLimiter(2, 60_000);
		expect(l.hit('a', 0).ok).toBe(true);
		expect(l.hit('a', 1000).ok).toBe(true);
		expect(l.hit('a', 15_000)).toEqual({ ok: false, retryAfterSeconds: 45 });
		expect(l.hit('b', 15_000).ok).toBe(true);
		expect(l.hit('a', 60_000).ok).toBe(true);
	});
});

describe('static/t/vx.js', () => {
	it('stays under 2 KB', () => {
		const text = readFileSync(new URL('../../../../../static/t/vx.js', import.meta.url));
		expect(text.byteLength).toBeLessThan(2048);
		expect(gzipSync(text).byteLength).toBeLessThan(1024);
	});
});
