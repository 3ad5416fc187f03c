import { createHmac, timingSafeEqual, type Hmac } from 'node:crypto';
import { DEFAULT_TOLERANCE_SECS, type SignatureFailureReason } from '../elevenlabs/signature';

// Incremental twin of elevenlabs/signature.ts#verifyWebhookSignature for bodies read in chunks (audio events are
// hashed while they stream to storage). Header parsing and checks mirror it; a unit test holds them equal.
const HEX_RE = /^[0-9a-f]{64}$/;
const DIGITS_RE = /^\d{1,15}$/;

export interface WebhookVerifier {
	update(chunk: Uint8Array): void;
	/** Constant-time comparison of the expected digest with the header's v0. */
	verify(): { ok: true; timestampSecs: number } | { ok: false; reason: SignatureFailureReason };
}

/**
 * Checks what can be checked before the body arrives (header present, well formed, not older than the
 * tolerance) so a bad request is refused without reading it; otherwise returns a verifier to feed the body to.
 */
export function beginWebhookVerification(input: {
	header: string | null | undefined;
	secret: string;
	nowMs?: number;
	toleranceSecs?: number;
}): { ok: true; verifier: WebhookVerifier } | { ok: false; reason: SignatureFailureReason } {
	const { header, secret } = input;
	if (!header) return { ok: false, reason: 'missing_header' };
	let timestamp: string | undefined;
	let signature: string | undefined;
	for (const part of header.split(',')) {
		const p = part.trim();
		if (timestamp === undefined && p.startsWith('t=')) timestamp = p.slice(2);
		else if (signature === undefined && p.startsWith('v0=')) signature = p.slice(3);
	}
	if (!timestamp || !signature || !DIGITS_RE.test(timestamp)) return { ok: false, reason: 'malformed_header' };
	const timestampSecs = Number(timestamp);
	const nowMs = input.nowMs ?? Date.now();
	const toleranceSecs = input.toleranceSecs ?? DEFAULT_TOLERANCE_SECS;
	if (timestampSecs * 1000 < nowMs - toleranceSecs * 1000) return { ok: false, reason: 'too_old' };

	const wellFormed = signature.length === 64 && HEX_RE.test(signature);
	const hmac: Hmac = createHmac('sha256', secret);
	hmac.update(timestamp);
	hmac.update('.');
	const given = signature;
	return {
		ok: true,
		verifier: {
			update(chunk) {
				hmac.update(chunk);
			},
			verify() {
				const expected = hmac.digest();
				// Checked after hashing so the time spent does not depend on how wrong the signature is.
				if (!wellFormed) return { ok: false, reason: 'mismatch' };
				const g = Buffer.from(given, 'hex');
				if (g.length !== expected.length || !timingSafeEqual(g, expected)) return { ok: false, reason: 'mismatch' };
				return { ok: true, timestampSecs };
			}
		}
	};
}
