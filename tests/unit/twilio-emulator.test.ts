import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwilioEmulator, type TwilioEmulator } from '../../src/emulators/twilio/server';

const ACCOUNT_SID = 'AC11111111111111111111111111111111';
const AUTH_TOKEN = 'twilio-test-token';

let emulator: TwilioEmulator;

// The SDK builds URLs from `client.api.baseUrl` (a Domain property, read per request), so pointing it at the
// emulator is enough; no edge/region may be set or the SDK would rewrite the hostname.
function clientFor(sid: string, token: string) {
	const client = twilio(sid, token);
	client.api.baseUrl = emulator.url;
	return client;
}

beforeAll(async () => {
	emulator = await startTwilioEmulator({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
});

afterAll(async () => {
	await emulator?.close();
});

describe('twilio emulator with the official twilio SDK', () => {
	it('searches, buys, lists and releases a number', async () => {
		const client = clientFor(ACCOUNT_SID, AUTH_TOKEN);
		const available = await client.availablePhoneNumbers('US').local.list({ areaCode: 415, limit: 5 });
		expect(available).toHaveLength(5);
		for (const n of available) {
			expect(n.phoneNumber).toMatch(/^\+1415[2-9]\d{6}$/);
			expect(n.isoCountry).toBe('US');
			expect(n.capabilities.voice).toBe(true);
		}
		const gb = await client.availablePhoneNumbers('GB').local.list({ limit: 2 });
		expect(gb[0].phoneNumber).toMatch(/^\+4420/);

		const bought = await client.incomingPhoneNumbers.create({ phoneNumber: available[0].phoneNumber, friendlyName: 'Front desk' });
		expect(bought.sid).toMatch(/^PN[0-9a-f]{32}$/);
		expect(bought.phoneNumber).toBe(available[0].phoneNumber);
		expect(bought.friendlyName).toBe('Front desk');
		expect(bought.accountSid).toBe(ACCOUNT_SID);
		expect(bought.uri).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/IncomingPhoneNumbers/${bought.sid}.json`);

		const owned = await client.incomingPhoneNumbers.list();
		expect(owned.map((n) => n.sid)).toEqual([bought.sid]);
		const filtered = await client.incomingPhoneNumbers.list({ phoneNumber: bought.phoneNumber });
		expect(filtered).toHaveLength(1);

		// Buying the same number twice is a Twilio 21422.
		const dup = await client.incomingPhoneNumbers.create({ phoneNumber: bought.phoneNumber }).catch((e: unknown) => e);
		expect(dup).toMatchObject({ status: 400, code: 21422 });

		expect(await client.incomingPhoneNumbers(bought.sid).remove()).toBe(true);
		expect(await client.incomingPhoneNumbers.list()).toHaveLength(0);
		const gone = await client.incomingPhoneNumbers(bought.sid).remove().catch((e: unknown) => e);
		expect(gone).toMatchObject({ status: 404, code: 20404 });
	});

	it('pages through incoming numbers', async () => {
		const client = clientFor(ACCOUNT_SID, AUTH_TOKEN);
		const sids: string[] = [];
		for (let i = 0; i < 5; i++) sids.push((await client.incomingPhoneNumbers.create({ areaCode: '512' })).sid);
		const all = await client.incomingPhoneNumbers.list({ pageSize: 2 });
		expect(all.map((n) => n.sid).sort()).toEqual([...sids].sort());
		for (const sid of sids) await client.incomingPhoneNumbers(sid).remove();
	});

	it('rejects bad credentials with a Twilio-shaped 401', async () => {
		const client = clientFor(ACCOUNT_SID, 'wrong-token');
		const err = await client.incomingPhoneNumbers.list().catch((e: unknown) => e);
		expect(err).toMatchObject({ status: 401, code: 20003, moreInfo: 'https://www.twilio.com/docs/errors/20003' });

		const res = await fetch(`${emulator.url}/2010-04-01/Accounts/${ACCOUNT_SID}/IncomingPhoneNumbers.json`);
		expect(res.status).toBe(401);
		expect(await res.json()).toEqual({ code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
	});

	it('fetches the account and updates a number', async () => {
		const client = clientFor(ACCOUNT_SID, AUTH_TOKEN);
		const account = await client.api.v2010.accounts(ACCOUNT_SID).fetch();
		expect(account).toMatchObject({ sid: ACCOUNT_SID, status: 'active' });
		const n = await client.incomingPhoneNumbers.create({ areaCode: '617' });
		const updated = await client.incomingPhoneNumbers(n.sid).update({ friendlyName: 'Boston line', voiceUrl: 'https://example.test/voice' });
		expect(updated).toMatchObject({ friendlyName: 'Boston line', voiceUrl: 'https://example.test/voice' });
		expect((await client.incomingPhoneNumbers(n.sid).fetch()).friendlyName).toBe('Boston line');
		await client.incomingPhoneNumbers(n.sid).remove();
	});

	it('injects faults before or after doing the work, with Twilio error bodies', async () => {
		const client = clientFor(ACCOUNT_SID, AUTH_TOKEN);
		emulator.failNext({ count: 1, status: 500, method: 'POST', pathContains: '/IncomingPhoneNumbers.json' });
		const refused = await client.incomingPhoneNumbers.create({ phoneNumber: '+15125550100' }).catch((e: unknown) => e);
		expect(refused).toMatchObject({ status: 500, code: 20500 });
		expect(await client.incomingPhoneNumbers.list({ phoneNumber: '+15125550100' })).toHaveLength(0);

		emulator.failNext({ count: 1, status: 503, method: 'POST', pathContains: '/IncomingPhoneNumbers.json', after: true });
		const lost = await client.incomingPhoneNumbers.create({ phoneNumber: '+15125550101' }).catch((e: unknown) => e);
		expect(lost).toMatchObject({ status: 503 });
		const bought = await client.incomingPhoneNumbers.list({ phoneNumber: '+15125550101' });
		expect(bought).toHaveLength(1);
		await client.incomingPhoneNumbers(bought[0].sid).remove();

		// The same over HTTP, for an emulator running on its own (npm run emulator:twilio).
		await fetch(`${emulator.url}/_emulator/fail-next`, { method: 'POST', body: JSON.stringify({ status: 429, method: 'GET' }) });
		expect(await client.incomingPhoneNumbers.list().catch((e: unknown) => e)).toMatchObject({ status: 429, code: 20429 });
		expect(await client.incomingPhoneNumbers.list()).toEqual([]);
	});
});
