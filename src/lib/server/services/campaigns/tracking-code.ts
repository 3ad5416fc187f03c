import { randomBytes } from 'node:crypto';

// Recipient tracking codes: 10 characters of Crockford's base32 (no I, L, O, U) from crypto random = 50 bits.
// Short enough for a small QR code, not sequential, not guessable; uniqueness is the database's unique index
// (recipient_tracking_code_idx), and a writer that loses a collision retries with a fresh code.

export const TRACKING_CODE_LENGTH = 10;
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_RE = /^[0-9A-HJKMNP-TV-Z]{10}$/;

/** `count` fresh codes. Each byte's low 5 bits pick a character: 256 is a multiple of 32, so every pick is uniform. */
export function generateTrackingCodes(count: number): string[] {
	const bytes = randomBytes(count * TRACKING_CODE_LENGTH);
	const codes = new Array<string>(count);
	for (let c = 0; c < count; c++) {
		let code = '';
		for (let i = 0; i < TRACKING_CODE_LENGTH; i++) code += ALPHABET[bytes[c * TRACKING_CODE_LENGTH + i] & 31];
		codes[c] = code;
	}
	return codes;
}

export function generateTrackingCode(): string {
	return generateTrackingCodes(1)[0];
}

/**
 * A code as typed or scanned, in its stored form, or null when it cannot be one. Case-insensitive, and the
 * letters Crockford reads as digits (I, L → 1; O → 0) are mapped, so a code read aloud or retyped still works.
 */
export function normaliseTrackingCode(raw: string): string | null {
	const code = raw.trim().toUpperCase().replace(/[IL]/g, '1').replace(/O/g, '0');
	return CODE_RE.test(code) ? code : null;
}
