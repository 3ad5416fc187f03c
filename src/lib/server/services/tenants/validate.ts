import { isSupportedCountry } from 'libphonenumber-js';

// Shared by router input schemas and the demo seeder.
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

export function isValidTimezone(tz: string): boolean {
	try {
		new Intl.DateTimeFormat('en-US', { timeZone: tz });
		return true;
	} catch {
		return false;
	}
}

/** A country libphonenumber can read national-format numbers for (ISO 3166-1 alpha-2). */
export function isValidPhoneCountry(code: string): boolean {
	return /^[A-Z]{2}$/.test(code) && isSupportedCountry(code);
}
