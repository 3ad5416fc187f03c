import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/min';

// Phone numbers as the campaign side stores them: E.164, read with the tenant's default country when written in
// national format. The one door for recipients and tracking numbers alike (and the import benchmark's reference).

export type PhoneResult = { ok: true; e164: string } | { ok: false; reason: string };

// Characters that may appear in a written phone number; anything else (letters beyond an extension) is refused.
const PHONE_CHARS = /^[0-9+()\-.\s/]+$/;

export function normalisePhone(raw: string, defaultCountry: string): PhoneResult {
	const text = raw.trim();
	if (text === '') return { ok: false, reason: 'phone number is missing' };
	if (!PHONE_CHARS.test(text)) return { ok: false, reason: `"${clip(text)}" is not a phone number` };
	const parsed = parsePhoneNumberFromString(text, { defaultCountry: defaultCountry as CountryCode });
	if (!parsed) return { ok: false, reason: `"${clip(text)}" is not a phone number` };
	if (!parsed.isValid()) {
		return { ok: false, reason: `"${clip(text)}" is not a valid number${text.startsWith('+') ? '' : ` for ${defaultCountry}`}` };
	}
	return { ok: true, e164: parsed.number };
}

function clip(s: string): string {
	return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
