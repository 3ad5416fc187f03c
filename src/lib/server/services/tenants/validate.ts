import { isSupportedCountry } from 'libphonenumber-js';
import { isTimeZone } from '../../../days';

// Shared by router input schemas and the demo seeder.
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

/** An IANA zone the runtime knows; src/lib/days.ts decides, as for every other zone question. */
export function isValidTimezone(tz: string): boolean {
	return isTimeZone(tz);
}

/** A country libphonenumber can read national-format numbers for (ISO 3166-1 alpha-2). */
export function isValidPhoneCountry(code: string): boolean {
	return /^[A-Z]{2}$/.test(code) && isSupportedCountry(code);
}
