import { describe, expect, it } from 'vitest';
import { openSecret, sealSecret, secretHint } from './secrets';

const KEY = 'k'.repeat(40);

describe('stored secrets', () => {
	it('round-trips and never stores the plaintext', () => {
		const sealed = sealSecret('sk_live_abcdef123456', KEY);
		expect(sealed).not.toContain('abcdef');
		expect(openSecret(sealed, KEY)).toBe('sk_live_abcdef123456');
		expect(sealSecret('same', KEY)).not.toBe(sealSecret('same', KEY));
	});
	it('refuses a tampered ciphertext or the wrong APP_SECRET', () => {
		const sealed = sealSecret('whsec_123', KEY);
		const parts = sealed.split('.');
		parts[3] = Buffer.from('whsec_124').toString('base64url');
		expect(() => openSecret(parts.join('.'), KEY)).toThrow();
		expect(() => openSecret(sealed, 'x'.repeat(40))).toThrow();
	});
	it('shows only the last four characters', () => {
		expect(secretHint('sk_live_abcdef123456')).toBe('••••3456');
		expect(secretHint('abc')).toBe('••••');
	});
});
