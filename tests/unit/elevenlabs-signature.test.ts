import { createHmac } from 'node:crypto';
import { ElevenLabsClient } from '@elevenlabs/elevenlabs-js';
import { describe, expect, it } from 'vitest';
import { signWebhookBody, verifyWebhookSignature, ELEVENLABS_SIGNATURE_HEADER } from '../../src/lib/server/elevenlabs/signature';

const secret = 'wsec_test_secret';
const body = JSON.stringify({ type: 'post_call_transcription', event_timestamp: 1739537297, data: { conversation_id: 'conv_1' } });
const nowSecs = () => Math.floor(Date.now() / 1000);

describe('elevenlabs webhook signature', () => {
	it('uses the upstream header name', () => {
		expect(ELEVENLABS_SIGNATURE_HEADER).toBe('elevenlabs-signature');
	});

	it('signs t=<secs>,v0=<hex hmac of "t.body">', () => {
		const header = signWebhookBody(body, secret, 1739537297);
		const expected = createHmac('sha256', secret).update(`1739537297.${body}`).digest('hex');
		expect(header).toBe(`t=1739537297,v0=${expected}`);
	});

	it('round-trips for string and Buffer bodies', () => {
		const header = signWebhookBody(body, secret);
		expect(verifyWebhookSignature({ rawBody: body, header, secret })).toMatchObject({ ok: true });
		expect(verifyWebhookSignature({ rawBody: Buffer.from(body), header, secret })).toMatchObject({ ok: true });
		const t = nowSecs();
		expect(verifyWebhookSignature({ rawBody: body, header: signWebhookBody(Buffer.from(body), secret, t), secret })).toEqual({ ok: true, timestampSecs: t });
	});

	it('rejects a wrong secret and a tampered body', () => {
		const header = signWebhookBody(body, secret);
		expect(verifyWebhookSignature({ rawBody: body, header, secret: 'other' })).toEqual({ ok: false, reason: 'mismatch' });
		expect(verifyWebhookSignature({ rawBody: body.replace('conv_1', 'conv_2'), header, secret })).toEqual({ ok: false, reason: 'mismatch' });
	});

	it('rejects timestamps older than 30 minutes and accepts future ones (no upper bound upstream)', () => {
		const old = nowSecs() - 31 * 60;
		expect(verifyWebhookSignature({ rawBody: body, header: signWebhookBody(body, secret, old), secret })).toEqual({ ok: false, reason: 'too_old' });
		const justInside = nowSecs() - 29 * 60;
		expect(verifyWebhookSignature({ rawBody: body, header: signWebhookBody(body, secret, justInside), secret }).ok).toBe(true);
		const future = nowSecs() + 3600;
		expect(verifyWebhookSignature({ rawBody: body, header: signWebhookBody(body, secret, future), secret }).ok).toBe(true);
		// nowMs/toleranceSecs are injectable.
		expect(verifyWebhookSignature({ rawBody: body, header: signWebhookBody(body, secret, 1000), secret, nowMs: 1_000_000 + 10_000, toleranceSecs: 5 })).toEqual({ ok: false, reason: 'too_old' });
	});

	it('reports missing and malformed headers', () => {
		expect(verifyWebhookSignature({ rawBody: body, header: null, secret })).toEqual({ ok: false, reason: 'missing_header' });
		expect(verifyWebhookSignature({ rawBody: body, header: '', secret })).toEqual({ ok: false, reason: 'missing_header' });
		for (const header of ['garbage', 't=123', 'v0=abc', 't=abc,v0=00', `t=,v0=${'0'.repeat(64)}`]) {
			expect(verifyWebhookSignature({ rawBody: body, header, secret })).toEqual({ ok: false, reason: 'malformed_header' });
		}
		// Well-formed but the digest is of the wrong length or not hex: a mismatch, and no exception.
		expect(verifyWebhookSignature({ rawBody: body, header: `t=${nowSecs()},v0=abcd`, secret })).toEqual({ ok: false, reason: 'mismatch' });
		expect(verifyWebhookSignature({ rawBody: body, header: `t=${nowSecs()},v0=${'z'.repeat(64)}`, secret })).toEqual({ ok: false, reason: 'mismatch' });
	});

	it('is accepted by the official SDK verifier, which also rejects what we reject', async () => {
		const client = new ElevenLabsClient({ apiKey: 'x' });
		const header = signWebhookBody(body, secret);
		await expect(client.webhooks.constructEvent(body, header, secret)).resolves.toEqual(JSON.parse(body));
		await expect(client.webhooks.constructEvent(body, header, 'other')).rejects.toThrow(/does not match/);
		const old = signWebhookBody(body, secret, nowSecs() - 31 * 60);
		await expect(client.webhooks.constructEvent(body, old, secret)).rejects.toThrow(/tolerance/);
	});

	it('agrees with node\'s HMAC for keys of every length, and its cached key states are never consumed', () => {
		const t = nowSecs();
		const secrets = ['', 'k', 'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(65), 'w'.repeat(200), 'sécret-✓-密钥', secret];
		for (const s of secrets) {
			const header = signWebhookBody(body, s, t);
			// Twice: the second use must start from the same keyed state as the first.
			expect(verifyWebhookSignature({ rawBody: body, header, secret: s }), s).toEqual({ ok: true, timestampSecs: t });
			expect(verifyWebhookSignature({ rawBody: Buffer.from(body), header, secret: s }), s).toEqual({ ok: true, timestampSecs: t });
			expect(verifyWebhookSignature({ rawBody: body, header, secret: `${s}!` }), s).toEqual({ ok: false, reason: 'mismatch' });
		}
	});

	it('stays correct past the key-state cache bound (more secrets than it keeps)', () => {
		const t = nowSecs();
		const many = Array.from({ length: 2500 }, (_, i) => `wsec_${i}`);
		const failures = many.filter((s) => !verifyWebhookSignature({ rawBody: body, header: signWebhookBody(body, s, t), secret: s }).ok);
		expect(failures).toEqual([]);
		expect(verifyWebhookSignature({ rawBody: body, header: signWebhookBody(body, many[0], t), secret: many[1] })).toEqual({ ok: false, reason: 'mismatch' });
	});
});
