import twilio from 'twilio';
import { DomainError } from '../errors';

// Twilio numbers behind a small interface: search, buy, look up, list, release. The official SDK does the
// wire work; its base URL is pointed at `baseUrl` (env TWILIO_BASE_URL by default, the emulator locally).
// Buying is not retried here (a lost answer may still have bought the number): the number lifecycle looks the
// number up before buying again.

export interface AvailableNumber {
	e164: string;
	friendlyName: string;
	locality: string | null;
	region: string | null;
	country: string;
}

export interface OwnedNumber {
	sid: string;
	e164: string;
	friendlyName: string;
}

export interface SearchNumbersInput {
	country: string;
	areaCode?: number;
	contains?: string;
	limit?: number;
}

export interface TwilioNumbers {
	search(input: SearchNumbersInput): Promise<AvailableNumber[]>;
	buy(input: { e164: string; friendlyName?: string }): Promise<OwnedNumber>;
	findByE164(e164: string): Promise<OwnedNumber | null>;
	listOwned(): Promise<OwnedNumber[]>;
	/** Resolves false when the number is already gone (404): releasing is idempotent. */
	release(sid: string): Promise<boolean>;
	/** Checks the credentials; resolves the account's friendly name. */
	check(): Promise<{ friendlyName: string; status: string }>;
}

export interface TwilioCredentials {
	accountSid: string;
	authToken: string;
	baseUrl: string;
}

/** A Twilio REST failure, kept with its status and Twilio error code for readable messages. */
export class TwilioProviderError extends Error {
	override name = 'TwilioProviderError';
	constructor(
		readonly status: number,
		readonly code: number | null,
		message: string
	) {
		super(message);
	}
}

function wrap(err: unknown): TwilioProviderError {
	const e = err as { status?: number; code?: number; message?: string };
	if (typeof e?.status === 'number') return new TwilioProviderError(e.status, e.code ?? null, e.message ?? `Twilio answered ${e.status}`);
	return new TwilioProviderError(0, null, `Twilio could not be reached: ${(err as Error)?.message ?? String(err)}`);
}

async function guarded<T>(fn: () => Promise<T>): Promise<T> {
	try {
		return await fn();
	} catch (err) {
		throw wrap(err);
	}
}

export function createTwilioNumbers(creds: TwilioCredentials): TwilioNumbers {
	const client = twilio(creds.accountSid, creds.authToken);
	// The SDK builds every URL from the domain's baseUrl (read per request); no region/edge may be set or it would
	// rewrite the host.
	client.api.baseUrl = creds.baseUrl.replace(/\/+$/, '');
	const owned = (n: { sid: string; phoneNumber: string; friendlyName: string }): OwnedNumber => ({ sid: n.sid, e164: n.phoneNumber, friendlyName: n.friendlyName });
	return {
		search: (input) =>
			guarded(async () => {
				const list = await client.availablePhoneNumbers(input.country).local.list({
					...(input.areaCode !== undefined ? { areaCode: input.areaCode } : {}),
					...(input.contains ? { contains: input.contains } : {}),
					limit: input.limit ?? 20
				});
				return list.map((n) => ({ e164: n.phoneNumber, friendlyName: n.friendlyName, locality: n.locality ?? null, region: n.region ?? null, country: n.isoCountry }));
			}),
		buy: (input) => guarded(async () => owned(await client.incomingPhoneNumbers.create({ phoneNumber: input.e164, ...(input.friendlyName ? { friendlyName: input.friendlyName } : {}) }))),
		findByE164: (e164) =>
			guarded(async () => {
				const list = await client.incomingPhoneNumbers.list({ phoneNumber: e164, limit: 1 });
				return list[0] ? owned(list[0]) : null;
			}),
		listOwned: () => guarded(async () => (await client.incomingPhoneNumbers.list({ pageSize: 1000 })).map(owned)),
		release: async (sid) => {
			try {
				return await client.incomingPhoneNumbers(sid).remove();
			} catch (err) {
				const e = wrap(err);
				if (e.status === 404) return false;
				throw e;
			}
		},
		check: () =>
			guarded(async () => {
				const a = await client.api.v2010.accounts(creds.accountSid).fetch();
				return { friendlyName: a.friendlyName, status: a.status };
			})
	};
}

/** Twilio failures as messages an admin can act on. */
export function toReadableTwilioError(err: unknown, what: string): Error {
	if (!(err instanceof TwilioProviderError)) return err as Error;
	if (err.status === 0) return new DomainError('UNAVAILABLE', `Twilio could not be reached to ${what}; try again`);
	if (err.status === 401) return new DomainError('UNAVAILABLE', 'Twilio refused the account SID / auth token; check the Twilio settings');
	if (err.status === 404) return new DomainError('NOT_FOUND', `Twilio could not ${what}: ${err.message}`);
	if (err.status === 429) return new DomainError('RATE_LIMITED', `Twilio is rate limiting us; try again in a minute (${what})`);
	if (err.status >= 400 && err.status < 500) return new DomainError('BAD_INPUT', `Twilio refused to ${what}: ${err.message}${err.code ? ` (error ${err.code})` : ''}`);
	return new DomainError('UNAVAILABLE', `Twilio failed to ${what} (HTTP ${err.status}); try again`);
}
