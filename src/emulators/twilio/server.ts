import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPrng } from '../elevenlabs/prng';

export interface TwilioEmulatorOptions {
	port?: number;
	host?: string;
	accountSid?: string;
	authToken?: string;
	seed?: number;
}

export interface IncomingNumber {
	sid: string;
	phone_number: string;
	friendly_name: string;
	date_created: string;
	voice_url: string;
	sms_url: string;
	status_callback: string;
}

/** A deterministic fault: the next `count` matching requests fail with `status` (Twilio's error body). */
export interface TwilioFault {
	count: number;
	status: number;
	/** Only requests with this method (GET, POST, DELETE). */
	method?: string;
	/** Only requests whose path contains this text, e.g. `/IncomingPhoneNumbers`. */
	pathContains?: string;
	/** Do the work first, then answer the error: a lost answer (the number is bought, the caller thinks not). */
	after?: boolean;
}

export interface TwilioEmulator {
	url: string;
	port: number;
	accountSid: string;
	authToken: string;
	numbers: Map<string, IncomingNumber>;
	stats: { requests: number };
	failNext(fault: TwilioFault): void;
	close(): Promise<void>;
}

type Json = Record<string, unknown>;

const API = '/2010-04-01';
// Real area codes with a locality so the search results look plausible.
const US_LOCALITIES: Record<string, { locality: string; region: string; postal: string; lat: string; lon: string }> = {
	'415': { locality: 'San Francisco', region: 'CA', postal: '94103', lat: '37.77', lon: '-122.41' },
	'212': { locality: 'New York', region: 'NY', postal: '10001', lat: '40.75', lon: '-73.99' },
	'512': { locality: 'Austin', region: 'TX', postal: '78701', lat: '30.27', lon: '-97.74' },
	'617': { locality: 'Boston', region: 'MA', postal: '02108', lat: '42.36', lon: '-71.06' },
	'312': { locality: 'Chicago', region: 'IL', postal: '60601', lat: '41.88', lon: '-87.63' }
};

class TwilioError extends Error {
	constructor(
		readonly status: number,
		readonly code: number,
		message: string
	) {
		super(message);
	}
}

// RFC 2822 dates, as Twilio's 2010 API returns them.
const rfc2822 = (d: Date) => d.toUTCString().replace('GMT', '+0000');

function formatNational(e164: string): string {
	if (e164.startsWith('+1') && e164.length === 12) return `(${e164.slice(2, 5)}) ${e164.slice(5, 8)}-${e164.slice(8)}`;
	return e164;
}

export async function startTwilioEmulator(options: TwilioEmulatorOptions = {}): Promise<TwilioEmulator> {
	const accountSid = options.accountSid ?? 'AC00000000000000000000000000000000';
	const authToken = options.authToken ?? 'test-auth-token';
	const prng = createPrng(options.seed ?? 7);
	const numbers = new Map<string, IncomingNumber>();
	const stats = { requests: 0 };
	const faults: TwilioFault[] = [];
	const expectedAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;

	function numberJson(n: IncomingNumber): Json {
		return {
			account_sid: accountSid,
			address_requirements: 'none',
			address_sid: null,
			api_version: '2010-04-01',
			beta: false,
			bundle_sid: null,
			capabilities: { fax: false, mms: true, sms: true, voice: true },
			date_created: n.date_created,
			date_updated: n.date_created,
			emergency_address_sid: null,
			emergency_address_status: 'unregistered',
			emergency_status: 'Inactive',
			friendly_name: n.friendly_name,
			identity_sid: null,
			origin: 'twilio',
			phone_number: n.phone_number,
			sid: n.sid,
			sms_application_sid: '',
			sms_fallback_method: 'POST',
			sms_fallback_url: '',
			sms_method: 'POST',
			sms_url: n.sms_url,
			status: 'in-use',
			status_callback: n.status_callback,
			status_callback_method: 'POST',
			trunk_sid: null,
			uri: `${API}/Accounts/${accountSid}/IncomingPhoneNumbers/${n.sid}.json`,
			voice_application_sid: null,
			voice_caller_id_lookup: false,
			voice_fallback_method: 'POST',
			voice_fallback_url: null,
			voice_method: 'POST',
			voice_receive_mode: 'voice',
			voice_url: n.voice_url,
			subresource_uris: {
				assigned_add_ons: `${API}/Accounts/${accountSid}/IncomingPhoneNumbers/${n.sid}/AssignedAddOns.json`
			}
		};
	}

	function available(country: string, query: URLSearchParams): Json[] {
		const pageSize = Math.min(Number(query.get('PageSize') ?? 50) || 50, 1000);
		const areaCode = query.get('AreaCode');
		const contains = (query.get('Contains') ?? '').replace(/[^0-9]/g, '');
		const owned = new Set([...numbers.values()].map((n) => n.phone_number));
		const out: Json[] = [];
		for (let tries = 0; out.length < Math.min(pageSize, 20) && tries < 5000; tries++) {
			let phone: string;
			let loc = { locality: 'London', region: 'London', postal: 'EC1A', lat: '51.52', lon: '-0.10' };
			if (country === 'GB') phone = `+4420${prng.pick(['3', '7', '8'])}${prng.digits(7)}`;
			else {
				const ac = areaCode ?? prng.pick(Object.keys(US_LOCALITIES));
				loc = US_LOCALITIES[ac] ?? { locality: 'Springfield', region: 'US', postal: '00000', lat: '0', lon: '0' };
				phone = `+1${ac}${prng.int(2, 9)}${prng.digits(6)}`;
			}
			if (owned.has(phone) || (contains && !phone.includes(contains))) continue;
			out.push({
				friendly_name: formatNational(phone),
				phone_number: phone,
				lata: country === 'US' ? '722' : null,
				locality: loc.locality,
				rate_center: loc.locality.toUpperCase(),
				latitude: loc.lat,
				longitude: loc.lon,
				region: loc.region,
				postal_code: loc.postal,
				iso_country: country,
				address_requirements: 'none',
				beta: false,
				capabilities: { voice: true, SMS: true, MMS: true, fax: false }
			});
		}
		return out;
	}

	async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
		const chunks: Buffer[] = [];
		for await (const c of req) chunks.push(c as Buffer);
		return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
	}

	function send(res: ServerResponse, status: number, body: unknown): void {
		if (status === 204) {
			res.writeHead(204);
			res.end();
			return;
		}
		const text = JSON.stringify(body);
		res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'twilio-request-id': `RQ${prng.hex(32)}` });
		res.end(text);
	}

	async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		stats.requests++;
		const url = new URL(req.url ?? '/', 'http://twilio');
		const path = url.pathname;
		const method = req.method ?? 'GET';
		if (req.headers.authorization !== expectedAuth) throw new TwilioError(401, 20003, 'Authenticate');

		if (path === `${API}/Accounts/${accountSid}.json` && method === 'GET') {
			return send(res, 200, {
				auth_token: authToken.replace(/.(?=.{4})/g, '*'),
				date_created: rfc2822(new Date(0)),
				date_updated: rfc2822(new Date(0)),
				friendly_name: 'VoxCalls emulated account',
				owner_account_sid: accountSid,
				sid: accountSid,
				status: 'active',
				subresource_uris: {},
				type: 'Full',
				uri: `${API}/Accounts/${accountSid}.json`
			});
		}
		const account = new RegExp(`^${API}/Accounts/([^/]+)/`).exec(path);
		if (!account || account[1] !== accountSid) throw new TwilioError(404, 20404, `The requested resource ${path} was not found`);
		const rest = path.slice(account[0].length - 1);

		let m = /^\/AvailablePhoneNumbers\/([A-Z]{2})\/Local\.json$/.exec(rest);
		if (m && method === 'GET') {
			const country = m[1];
			if (country !== 'US' && country !== 'GB') throw new TwilioError(404, 20404, `The requested resource ${path} was not found`);
			return send(res, 200, { available_phone_numbers: available(country, url.searchParams), uri: `${path}${url.search}` });
		}

		if (rest === '/IncomingPhoneNumbers.json' && method === 'GET') {
			const pageSize = Math.min(Number(url.searchParams.get('PageSize') ?? 50) || 50, 1000);
			const page = Number(url.searchParams.get('Page') ?? 0) || 0;
			const filter = url.searchParams.get('PhoneNumber');
			const friendly = url.searchParams.get('FriendlyName');
			const all = [...numbers.values()].filter((n) => (!filter || n.phone_number === filter) && (!friendly || n.friendly_name === friendly));
			const items = all.slice(page * pageSize, (page + 1) * pageSize);
			const base = `${API}/Accounts/${accountSid}/IncomingPhoneNumbers.json`;
			const hasNext = (page + 1) * pageSize < all.length;
			return send(res, 200, {
				incoming_phone_numbers: items.map(numberJson),
				first_page_uri: `${base}?PageSize=${pageSize}&Page=0`,
				end: page * pageSize + Math.max(0, items.length - 1),
				previous_page_uri: page > 0 ? `${base}?PageSize=${pageSize}&Page=${page - 1}` : null,
				uri: `${base}?PageSize=${pageSize}&Page=${page}`,
				page_size: pageSize,
				start: page * pageSize,
				next_page_uri: hasNext ? `${base}?PageSize=${pageSize}&Page=${page + 1}` : null,
				page
			});
		}

		if (rest === '/IncomingPhoneNumbers.json' && method === 'POST') {
			const form = await readForm(req);
			let phone = form.get('PhoneNumber');
			const areaCode = form.get('AreaCode');
			if (!phone && areaCode) phone = `+1${areaCode}${prng.int(2, 9)}${prng.digits(6)}`;
			if (!phone) throw new TwilioError(400, 21452, 'No phone numbers found in area code');
			if (!/^\+[1-9]\d{7,14}$/.test(phone)) throw new TwilioError(400, 21421, `PhoneNumber is invalid`);
			if ([...numbers.values()].some((n) => n.phone_number === phone)) throw new TwilioError(400, 21422, 'PhoneNumber is not available');
			const n: IncomingNumber = {
				sid: `PN${prng.hex(32)}`,
				phone_number: phone,
				friendly_name: form.get('FriendlyName') ?? formatNational(phone),
				date_created: rfc2822(new Date()),
				voice_url: form.get('VoiceUrl') ?? '',
				sms_url: form.get('SmsUrl') ?? '',
				status_callback: form.get('StatusCallback') ?? ''
			};
			numbers.set(n.sid, n);
			return send(res, 201, numberJson(n));
		}

		m = /^\/IncomingPhoneNumbers\/(PN[0-9a-f]{32})\.json$/.exec(rest);
		if (m) {
			const n = numbers.get(m[1]);
			if (!n) throw new TwilioError(404, 20404, `The requested resource ${path} was not found`);
			if (method === 'GET') return send(res, 200, numberJson(n));
			if (method === 'DELETE') {
				numbers.delete(n.sid);
				return send(res, 204, null);
			}
			if (method === 'POST') {
				const form = await readForm(req);
				if (form.has('FriendlyName')) n.friendly_name = form.get('FriendlyName')!;
				if (form.has('VoiceUrl')) n.voice_url = form.get('VoiceUrl')!;
				if (form.has('SmsUrl')) n.sms_url = form.get('SmsUrl')!;
				return send(res, 200, numberJson(n));
			}
			throw new TwilioError(405, 20004, 'Method not allowed');
		}

		throw new TwilioError(404, 20404, `The requested resource ${path} was not found`);
	}

	function takeFault(method: string, path: string): TwilioFault | null {
		const i = faults.findIndex((f) => (!f.method || f.method === method) && (!f.pathContains || path.includes(f.pathContains)));
		if (i < 0) return null;
		const f = faults[i];
		if (--f.count <= 0) faults.splice(i, 1);
		return f;
	}

	async function handleWithFaults(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const path = new URL(req.url ?? '/', 'http://twilio').pathname;
		// Control endpoint (no auth), like the ElevenLabs emulator's: POST a TwilioFault as JSON.
		if (path === '/_emulator/fail-next' && req.method === 'POST') {
			const chunks: Buffer[] = [];
			for await (const c of req) chunks.push(c as Buffer);
			const f = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Partial<TwilioFault>;
			const fault = { count: Number(f.count ?? 1), status: Number(f.status ?? 500), method: f.method, pathContains: f.pathContains, after: f.after === true };
			if (fault.count > 0) faults.push(fault);
			return send(res, 200, { ok: true });
		}
		const fault = takeFault(req.method ?? 'GET', path);
		if (!fault) return handle(req, res);
		const error = new TwilioError(fault.status, fault.status === 429 ? 20429 : 20500, fault.status === 429 ? 'Too Many Requests' : 'Internal Server Error');
		if (!fault.after) throw error;
		// Let the work happen, then lose its answer.
		const swallow = { writeHead: () => swallow, end: () => swallow, headersSent: false } as unknown as ServerResponse;
		await handle(req, swallow);
		throw error;
	}

	const server = createServer((req, res) => {
		handleWithFaults(req, res).catch((err: unknown) => {
			const e = err instanceof TwilioError ? err : new TwilioError(500, 20500, 'Internal Server Error');
			send(res, e.status, { code: e.code, message: e.message, more_info: `https://www.twilio.com/docs/errors/${e.code}`, status: e.status });
		});
	});

	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
	});
	const port = (server.address() as AddressInfo).port;
	return {
		url: `http://${options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1'}:${port}`,
		port,
		accountSid,
		authToken,
		numbers,
		stats,
		failNext(fault) {
			if (fault.count > 0) faults.push({ ...fault });
		},
		async close() {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
	};
}
