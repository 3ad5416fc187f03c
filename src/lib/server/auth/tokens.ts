import { sha256 } from '@oslojs/crypto/sha2';
import { constantTimeEqual } from '@oslojs/crypto/subtle';
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding';

// Invitation links carry `<invitation id>.<secret>`: the id finds the row, the secret is compared against the
// stored SHA-256 in constant time, so neither the lookup nor the comparison leaks how close a guess was.
const SECRET_BYTES = 20;

export function generateSecret(): string {
	const bytes = new Uint8Array(SECRET_BYTES);
	crypto.getRandomValues(bytes);
	return encodeBase32LowerCaseNoPadding(bytes);
}

export function hashSecret(secret: string): string {
	return encodeHexLowerCase(sha256(new TextEncoder().encode(secret)));
}

export function secretMatches(secret: string, storedHash: string): boolean {
	const a = new TextEncoder().encode(hashSecret(secret));
	const b = new TextEncoder().encode(storedHash);
	return a.length === b.length && constantTimeEqual(a, b);
}

export function composeToken(id: string, secret: string): string {
	return `${id}.${secret}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function parseToken(token: string): { id: string; secret: string } | null {
	const dot = token.indexOf('.');
	if (dot < 0) return null;
	const id = token.slice(0, dot).toLowerCase();
	const secret = token.slice(dot + 1);
	if (!UUID.test(id) || secret.length < 16 || secret.length > 128) return null;
	return { id, secret };
}
