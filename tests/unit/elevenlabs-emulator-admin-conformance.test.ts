import { ElevenLabsClient, ElevenLabsError } from '@elevenlabs/elevenlabs-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startElevenLabsEmulator, type ElevenLabsEmulator } from '../../src/emulators/elevenlabs/server';
import { createManagementClient, type ManagementClient } from '../../src/lib/server/elevenlabs/management';

// What the admin flows use (agents CRUD + duplicate, phone-number import/assign/delete, batch calling, the
// account check): the official SDK parses every emulator answer, and our management client speaks the same wire.

const API_KEY = 'admin-conformance-key';
let emulator: ElevenLabsEmulator;
let sdk: ElevenLabsClient;
let ours: ManagementClient;

beforeAll(async () => {
	emulator = await startElevenLabsEmulator({
		apiKey: API_KEY,
		seed: 11,
		agents: [{ agentId: 'agent_front', name: 'Front desk', phoneNumbers: ['+14155550123'] }],
		progression: { inProgressAfterMs: 20, processingAfterMs: 40, finalAfterMs: 60 }
	});
	sdk = new ElevenLabsClient({ apiKey: API_KEY, baseUrl: emulator.url, maxRetries: 0 });
	ours = createManagementClient({ baseUrl: emulator.url, apiKey: API_KEY, maxRetries: 0 });
});
afterAll(async () => {
	await emulator?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('admin endpoints of the ElevenLabs emulator', () => {
	it('creates, updates (merging nested sections), duplicates and deletes agents', async () => {
		const { agentId } = await sdk.conversationalAi.agents.create({
			name: 'Bookings',
			conversationConfig: { agent: { firstMessage: 'Hi!', language: 'en', prompt: { prompt: 'Book visits.', llm: 'gpt-4o-mini', temperature: 0.4 } }, tts: { voiceId: 'v1', modelId: 'eleven_flash_v2_5' } }
		});
		const updated = await sdk.conversationalAi.agents.update(agentId, { conversationConfig: { agent: { firstMessage: 'Hello!' } } });
		expect(updated.conversationConfig.agent?.firstMessage).toBe('Hello!');
		expect(updated.conversationConfig.agent?.prompt?.prompt).toBe('Book visits.');
		expect(updated.conversationConfig.tts?.modelId).toBe('eleven_flash_v2_5');

		const copy = await sdk.conversationalAi.agents.duplicate(agentId, { name: 'Bookings (copy)' });
		const got = await sdk.conversationalAi.agents.get(copy.agentId);
		expect(got.name).toBe('Bookings (copy)');
		expect(got.conversationConfig.agent?.prompt?.llm).toBe('gpt-4o-mini');

		await sdk.conversationalAi.agents.delete(copy.agentId);
		const gone = await sdk.conversationalAi.agents.get(copy.agentId).catch((e: unknown) => e);
		expect(gone).toBeInstanceOf(ElevenLabsError);
		expect((gone as ElevenLabsError).statusCode).toBe(404);
		expect((gone as ElevenLabsError).body).toEqual({ detail: { status: 'agent_not_found', message: `Agent with id ${copy.agentId} not found` } });
	});

	it('refuses what upstream refuses: an unknown LLM or TTS model and page_size above 100, with FastAPI 422 bodies', async () => {
		// (The SDK refuses an unknown enum before sending, so these go over plain HTTP.)
		const bad = await fetch(`${emulator.url}/v1/convai/agents/create`, {
			method: 'POST',
			headers: { 'xi-api-key': API_KEY, 'content-type': 'application/json' },
			body: JSON.stringify({ conversation_config: { tts: { model_id: 'eleven_v9' } } })
		});
		expect(bad.status).toBe(422);
		expect(await bad.json()).toMatchObject({ detail: [{ type: 'enum', loc: ['body', 'conversation_config', 'tts', 'model_id'], input: 'eleven_v9' }] });
		const llm = await fetch(`${emulator.url}/v1/convai/agents/agent_front`, {
			method: 'PATCH',
			headers: { 'xi-api-key': API_KEY, 'content-type': 'application/json' },
			body: JSON.stringify({ conversation_config: { agent: { prompt: { llm: 'gpt-imaginary' } } } })
		});
		expect(llm.status).toBe(422);
		const page = await fetch(`${emulator.url}/v1/convai/agents?page_size=101`, { headers: { 'xi-api-key': API_KEY } });
		expect(page.status).toBe(422);
		expect(await page.json()).toEqual({
			detail: [{ type: 'less_than_equal', loc: ['query', 'page_size'], msg: 'Input should be less than or equal to 100', input: '101' }]
		});
	});

	it('imports a Twilio number, assigns and unassigns an agent, deletes it', async () => {
		const { phoneNumberId } = await ours.importTwilioNumber({ phoneNumber: '+13125550100', label: 'Chicago', accountSid: `AC${'1'.repeat(32)}`, authToken: 'token-1234' });
		const listed = await sdk.conversationalAi.phoneNumbers.list();
		expect(listed.map((n) => n.phoneNumber)).toContain('+13125550100');
		const assigned = await ours.setPhoneNumberAgent(phoneNumberId, 'agent_front');
		expect(assigned.assigned_agent?.agent_id).toBe('agent_front');
		const viaSdk = await sdk.conversationalAi.phoneNumbers.get(phoneNumberId);
		expect(viaSdk).toMatchObject({ phoneNumber: '+13125550100', provider: 'twilio' });
		expect((await ours.setPhoneNumberAgent(phoneNumberId, null)).assigned_agent).toBeNull();
		await ours.deletePhoneNumber(phoneNumberId);
		expect((await ours.listPhoneNumbers()).map((n) => n.phone_number)).not.toContain('+13125550100');
	});

	it('submits a batch, reports per-recipient outcomes, retries the failed recipients and cancels', async () => {
		const number = [...emulator.state.phoneNumbers.values()].find((p) => p.agent_id === 'agent_front')!;
		const recipients = Array.from({ length: 12 }, (_, i) => ({ id: `lead_${i}`, phoneNumber: `+1415555${String(2000 + i)}` }));
		const batch = await ours.submitBatch({ callName: 'Spring recall', agentId: 'agent_front', phoneNumberId: number.phone_number_id, recipients });
		expect(batch).toMatchObject({ name: 'Spring recall', agent_id: 'agent_front', total_calls_scheduled: 12 });
		await sleep(150);
		const detail = await ours.getBatch(batch.id);
		expect(detail.recipients.map((r) => r.id).sort()).toEqual(recipients.map((r) => r.id).sort());
		for (const r of detail.recipients) expect(['completed', 'failed', 'voicemail']).toContain(r.status);
		const sdkDetail = await sdk.conversationalAi.batchCalls.get(batch.id);
		expect(sdkDetail.recipients).toHaveLength(12);
		expect(sdkDetail.status).toBe('completed');

		const failed = detail.recipients.filter((r) => r.status === 'failed');
		const retried = await sdk.conversationalAi.batchCalls.retry(batch.id);
		expect(retried.retryCount).toBe(failed.length > 0 ? 1 : 0);
		const after = await ours.getBatch(batch.id);
		for (const f of failed) expect(after.recipients.find((r) => r.id === f.id)!.conversation_id).not.toBe(f.conversation_id);
		for (const ok of detail.recipients.filter((r) => r.status !== 'failed')) expect(after.recipients.find((r) => r.id === ok.id)!.conversation_id).toBe(ok.conversation_id);

		const cancelled = await sdk.conversationalAi.batchCalls.cancel(batch.id);
		expect(cancelled.status).toBe('cancelled');
		const again = await ours.retryBatch(batch.id).catch((e: Error) => e);
		expect(again).toMatchObject({ status: 400 });
	});

	it('holds a scheduled batch until its time, and a cancelled one never dials', async () => {
		const number = [...emulator.state.phoneNumbers.values()].find((p) => p.agent_id === 'agent_front')!;
		const at = Math.floor(Date.now() / 1000) + 3600;
		const batch = await ours.submitBatch({ callName: 'Later', agentId: 'agent_front', phoneNumberId: number.phone_number_id, scheduledTimeUnix: at, recipients: [{ phoneNumber: '+14155553000' }] });
		expect(batch).toMatchObject({ status: 'pending', scheduled_time_unix: at, total_calls_dispatched: 0 });
		await ours.cancelBatch(batch.id);
		const detail = await ours.getBatch(batch.id);
		expect(detail.status).toBe('cancelled');
		expect(detail.recipients.map((r) => [r.status, r.conversation_id ?? null])).toEqual([['cancelled', null]]);
	});

	it('answers the account check the SDK and "test connection" read', async () => {
		const user = await sdk.user.get();
		expect(user.userId).toBe('emulator-user');
		expect(user.subscription.tier).toBe('pro');
		expect(await ours.getAccount()).toMatchObject({ user_id: 'emulator-user', first_name: 'Emulated workspace' });
	});

	it('can fail a step after doing it (a lost answer), for lifecycle tests', async () => {
		emulator.control.failNext(1, 502, { pathPrefix: '/v1/convai/phone-numbers', method: 'POST', after: true });
		const lost = await ours.importTwilioNumber({ phoneNumber: '+13125550177', label: 'lost', accountSid: `AC${'2'.repeat(32)}`, authToken: 'token-5678' }).catch((e: Error) => e);
		expect(lost).toMatchObject({ status: 502 });
		expect((await ours.listPhoneNumbers()).filter((n) => n.phone_number === '+13125550177')).toHaveLength(1);
	});
});
