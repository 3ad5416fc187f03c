import { createHash, createHmac, timingSafeEqual, type Hash } from 'node:crypto';

// Node lower-cases incoming header names; ElevenLabs sends `ElevenLabs-Signature`.
export const ELEVENLABS_SIGNATURE_HEADER = 'elevenlabs-signature';

// Upstream rejects anything older than 30 minutes and has no bound on the future side.
export const DEFAULT_TOLERANCE_SECS = 30 * 60;

export type SignatureFailureReason = 'missing_header' | 'malformed_header' | 'too_old' | 'mismatch';

export type SignatureVerification =
	| { ok: true; timestampSecs: number }
	| { ok: false; reason: SignatureFailureReason };

export interface VerifyWebhookSignatureInput {
	rawBody: Buffer | string;
	header: string | null | undefined;
	secret: string;
	nowMs?: number;
	toleranceSecs?: number;
}

// A hex SHA-256 digest is always 64 chars; anything else cannot match and is rejected before hashing.
const HEX_DIGEST_LENGTH = 64;
// Lower-case only: the SDK compares the hex string verbatim, so an upper-case digest would fail there too.
const HEX_RE = /^[0-9a-f]{64}$/;
const DIGITS_RE = /^\d{1,15}$/;

function hmacHex(secret: string, timestamp: string, rawBody: Buffer | string): Buffer {
	// Feeding the parts separately avoids concatenating (and copying) a possibly large body.
	const hmac = createHmac('sha256', secret);
	hmac.update(timestamp);
	hmac.update('.');
	hmac.update(rawBody);
	return hmac.digest();
}

export function signWebhookBody(rawBody: string | Buffer, secret: string, timestampSecs?: number): string {
	const t = String(Math.floor(timestampSecs ?? Date.now() / 1000));
	return `t=${t},v0=${hmacHex(secret, t, rawBody).toString('hex')}`;
}

// HMAC-SHA256 (RFC 2104) with the key's two padded blocks hashed once per secret: each delivery then copies the
// two hash states instead of keying a new Hmac (measured: the Hmac constructor was the intake's largest crypto
// cost). signWebhookBody keeps node's createHmac, so the tests check one against the other.
const SHA256_BLOCK = 64;
const MAX_CACHED_KEYS = 1000;
const keyedStates = new Map<string, { inner: Hash; outer: Hash }>();

function keyedState(secret: string): { inner: Hash; outer: Hash } {
	let state = keyedStates.get(secret);
	if (!state) {
		let key = Buffer.from(secret, 'utf8');
		if (key.length > SHA256_BLOCK) key = createHash('sha256').update(key).digest();
		const ipad = Buffer.alloc(SHA256_BLOCK, 0x36);
		const opad = Buffer.alloc(SHA256_BLOCK, 0x5c);
		for (let i = 0; i < key.length; i++) {
			ipad[i] ^= key[i];
			opad[i] ^= key[i];
		}
		state = { inner: createHash('sha256').update(ipad), outer: createHash('sha256').update(opad) };
		if (keyedStates.size >= MAX_CACHED_KEYS) keyedStates.clear();
		keyedStates.set(secret, state);
	}
	return state;
}

export interface WebhookVerifier {
	update(chunk: Uint8Array | string): void;
	/** Constant-time comparison of the expected digest with the header's v0. */
	verify(): SignatureVerification;
}

/**
 * Checks what can be checked before the body arrives (header present, well formed, not older than the
 * tolerance), so a bad request is refused without reading it; otherwise returns a verifier to feed the body to
 * (audio events are hashed while they stream to storage). Header parsing mirrors the SDK's `constructEvent`
 * (split on ',', first `t=` part, first `v0=` part), so a header the SDK accepts is accepted here too.
 */
export function beginWebhookVerification(
	input: Omit<VerifyWebhookSignatureInput, 'rawBody'>
): { ok: true; verifier: WebhookVerifier } | { ok: false; reason: SignatureFailureReason } {
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

	// Length and charset are checked up front: timingSafeEqual throws on unequal lengths, and a non-hex string
	// would silently decode to a shorter buffer.
	const wellFormed = signature.length === HEX_DIGEST_LENGTH && HEX_RE.test(signature);
	const given = signature;
	const keyed = keyedState(secret);
	const inner = keyed.inner.copy();
	inner.update(timestamp);
	inner.update('.');
	return {
		ok: true,
		verifier: {
			update(chunk) {
				inner.update(chunk);
			},
			verify() {
				const expected = keyed.outer.copy().update(inner.digest()).digest();
				// Judged after hashing so the time spent does not depend on how wrong the signature is.
				if (!wellFormed) return { ok: false, reason: 'mismatch' };
				const g = Buffer.from(given, 'hex');
				if (g.length !== expected.length || !timingSafeEqual(g, expected)) return { ok: false, reason: 'mismatch' };
				return { ok: true, timestampSecs };
			}
		}
	};
}

/** Verifies a whole body at once: the same checks as beginWebhookVerification, in constant time. */
export function verifyWebhookSignature(input: VerifyWebhookSignatureInput): SignatureVerification {
	const begun = beginWebhookVerification(input);
	if (!begun.ok) return begun;
	begun.verifier.update(input.rawBody);
	return begun.verifier.verify();
}
