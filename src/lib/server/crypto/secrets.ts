import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

// Stored upstream secrets (API keys, webhook secrets, Twilio tokens) are sealed with AES-256-GCM under a key
// derived from APP_SECRET with HKDF. Format: v1.<iv b64url>.<tag b64url>.<ciphertext b64url>.
const VERSION = 'v1';

function deriveKey(appSecret: string): Buffer {
	return Buffer.from(hkdfSync('sha256', appSecret, 'voxcalls', 'stored-secrets/v1', 32));
}

const keys = new Map<string, Buffer>();
function keyFor(appSecret: string) {
	let k = keys.get(appSecret);
	if (!k) keys.set(appSecret, (k = deriveKey(appSecret)));
	return k;
}

export function sealSecret(plaintext: string, appSecret: string): string {
	const iv = randomBytes(12);
	const cipher = createCipheriv('aes-256-gcm', keyFor(appSecret), iv);
	const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
	return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}

export function openSecret(sealed: string, appSecret: string): string {
	const [v, iv, tag, ct] = sealed.split('.');
	if (v !== VERSION || !iv || !tag || ct === undefined) throw new Error('not a sealed secret');
	const decipher = createDecipheriv('aes-256-gcm', keyFor(appSecret), Buffer.from(iv, 'base64url'));
	decipher.setAuthTag(Buffer.from(tag, 'base64url'));
	return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
}

/** What a browser may see of a secret: its last four characters. */
export function secretHint(plaintext: string): string {
	return plaintext.length <= 4 ? '••••' : `••••${plaintext.slice(-4)}`;
}
