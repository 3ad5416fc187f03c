import { describe, expect, it } from 'vitest';
import { beginWebhookVerification, signWebhookBody, verifyWebhookSignature } from './signature';

// The streaming verifier must agree with the one-shot verifier on every header, whatever the chunking.
function streamVerify(header: string | null, body: Buffer, secret: string, nowMs: number) {
	const begun = beginWebhookVerification({ header, secret, nowMs });
	if (!begun.ok) return { ok: false, reason: begun.reason };
	for (let i = 0; i < body.length; i += 7) begun.verifier.update(body.subarray(i, i + 7));
	return begun.verifier.verify();
}

describe('beginWebhookVerification', () => {
	const secret = 'whsec_test';
	const body = Buffer.from(JSON.stringify({ type: 'post_call_transcription', data: { x: 'é😀' } }));
	const now = 1_800_000_000_000;
	const t = now / 1000;
	const good = signWebhookBody(body, secret, t);
	const headers: (string | null)[] = [
		good,
		` ${good.replace(',', ' , ')} `,
		`v0=${good.split('v0=')[1]},t=${t}`,
		`${good},v0=${'0'.repeat(64)}`,
		`t=${t},v0=${'0'.repeat(64)},${good.split(',')[1]}`,
		signWebhookBody(body, secret, t - 1800),
		signWebhookBody(body, secret, t - 1801),
		signWebhookBody(body, secret, t + 86_400),
		signWebhookBody(body, 'other', t),
		good.toUpperCase(),
		`t=${t},v0=${good.split('v0=')[1].toUpperCase()}`,
		`t=${t},v0=zz${good.split('v0=')[1].slice(2)}`,
		`t=${t},v0=${good.split('v0=')[1].slice(1)}`,
		`t=${t}`,
		`v0=${good.split('v0=')[1]}`,
		`t=abc,v0=${good.split('v0=')[1]}`,
		`t=${t}.5,v0=${good.split('v0=')[1]}`,
		`t=-${t},v0=${good.split('v0=')[1]}`,
		'',
		null,
		'garbage'
	];
	it('agrees with verifyWebhookSignature', () => {
		for (const h of headers) {
			expect(streamVerify(h, body, secret, now), String(h)).toEqual(verifyWebhookSignature({ rawBody: body, header: h, secret, nowMs: now }));
		}
	});
	it('refuses a tampered body', () => {
		const tampered = Buffer.from(body);
		tampered[5] ^= 1;
		expect(streamVerify(good, tampered, secret, now)).toEqual({ ok: false, reason: 'mismatch' });
	});
});
