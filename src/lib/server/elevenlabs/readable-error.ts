import { DomainError } from '../errors';
import { UpstreamError } from './client';

// Upstream failures as messages an admin can act on. ElevenLabs answers FastAPI shapes (reference §5):
// `{detail: {status, message}}` for most errors and `{detail: [{loc, msg, type}]}` for 422.

function detailOf(snippet: string): { message: string | null; fields: string[] } {
	try {
		const body = JSON.parse(snippet) as { detail?: unknown };
		const d = body.detail;
		if (Array.isArray(d)) {
			const fields = d.map((i: { loc?: unknown[]; msg?: string }) => {
				// loc starts with 'body' / 'query'; the rest is the field path.
				const loc = Array.isArray(i.loc) ? i.loc.filter((p) => p !== 'body' && p !== 'query').join('.') : '';
				return loc ? `${loc}: ${i.msg ?? 'invalid'}` : (i.msg ?? 'invalid');
			});
			return { message: null, fields };
		}
		if (d && typeof d === 'object' && typeof (d as { message?: unknown }).message === 'string') return { message: (d as { message: string }).message, fields: [] };
		if (typeof d === 'string') return { message: d, fields: [] };
	} catch {
		// not JSON: fall through to the generic message
	}
	return { message: null, fields: [] };
}

/** Maps an upstream failure to a DomainError with a readable message; anything else is rethrown unchanged. */
export function toReadableUpstreamError(err: unknown, provider: 'ElevenLabs' | 'Twilio', what: string): Error {
	if (!(err instanceof UpstreamError)) return err as Error;
	const { message, fields } = detailOf(err.bodySnippet);
	const said = message ? `: ${message}` : '';
	switch (err.status) {
		case 400:
		case 422:
			return new DomainError('BAD_INPUT', `${provider} refused to ${what}${fields.length ? `: ${fields.join('; ')}` : said}`);
		case 401:
			return new DomainError('UNAVAILABLE', `${provider} refused the API key (${message ?? 'unauthorised'}); check the connection settings`);
		case 403:
			return new DomainError('FORBIDDEN', `${provider} does not allow this key to ${what}${said}`);
		case 404:
			return new DomainError('NOT_FOUND', `${provider} could not ${what}: it does not exist there${said}`);
		case 409:
			return new DomainError('CONFLICT', `${provider} could not ${what}: it conflicts with something that exists${said}`);
		case 429:
			return new DomainError('RATE_LIMITED', `${provider} is rate limiting us; try again in a minute (${what})`);
		default:
			if (err.code === 'network') return new DomainError('UNAVAILABLE', `${provider} could not be reached to ${what}; nothing was changed here`);
			if (err.code === 'invalid_response') return new DomainError('UNAVAILABLE', `${provider} answered something unexpected when asked to ${what}`);
			return new DomainError('UNAVAILABLE', `${provider} failed to ${what} (HTTP ${err.status}); nothing was changed here, try again`);
	}
}
