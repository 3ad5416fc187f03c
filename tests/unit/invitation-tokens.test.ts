import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { composeToken, generateSecret, hashSecret, parseToken, secretMatches } from '../../src/lib/server/auth/tokens';

describe('invitation tokens', () => {
	it('round-trips id and secret and matches only the right secret', () => {
		const id = randomUUID();
		const secret = generateSecret();
		expect(secret).toMatch(/^[a-z2-7]{32}$/);
		const parsed = parseToken(composeToken(id, secret));
		expect(parsed).toEqual({ id, secret });
		const stored = hashSecret(secret);
		expect(stored).not.toContain(secret);
		expect(secretMatches(secret, stored)).toBe(true);
		expect(secretMatches(generateSecret(), stored)).toBe(false);
		expect(secretMatches(secret, stored.slice(1))).toBe(false);
	});
	it.each(['', 'nodot', `${randomUUID()}.short`, `not-a-uuid.${'a'.repeat(32)}`, `${randomUUID()}.${'a'.repeat(200)}`])('rejects %j', (t) => {
		expect(parseToken(t)).toBeNull();
	});
});
