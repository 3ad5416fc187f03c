import { TRPCError } from '@trpc/server';
import { and, eq, like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, elevenlabsAgent, platformSetting } from '../../src/lib/server/db/schema/index';
import { upsertConversationSnapshots } from '../../src/lib/server/ingest/upsert';
import { createCallerFactory } from '../../src/lib/server/trpc/init';
import { appRouter } from '../../src/lib/server/trpc/root';
import { uniqueId } from '../factories/ingest';
import { startProviders, type Providers } from '../factories/numbers';
import { createTestTenant } from '../factories/tenant';
import { createTestMember, createTestUser, signedInContext } from '../factories/users';
import { connectTestStores } from '../setup/stores';

// Agents through the upstream API, end to end through the tRPC procedures against the ElevenLabs emulator.

const stores = connectTestStores();
const db = stores.db.db;
const createCaller = createCallerFactory(appRouter);
let p: Providers;
let tenantId: string;
let otherTenantId: string;
let admin: ReturnType<typeof createCaller>;
let tenantAdmin: ReturnType<typeof createCaller>;
let adminUserId: string;

const fields = {
	name: 'Booking line',
	firstMessage: 'Hi, Acme Dental here. How can I help?',
	systemPrompt: 'You book dental appointments. Be brief.',
	llm: 'gpt-4o-mini',
	temperature: 0.3,
	language: 'en',
	voiceId: 'voice_abc',
	ttsModel: 'eleven_flash_v2_5',
	dataCollection: [{ id: 'patient_name', type: 'string' as const, description: 'The patient’s name' }],
	evaluationCriteria: [{ id: 'booked', name: 'Appointment booked', prompt: 'Did the caller book an appointment?' }]
};

beforeAll(async () => {
	const t = await createTestTenant(db);
	tenantId = t.id;
	otherTenantId = (await createTestTenant(db)).id;
	p = await startProviders(db, { agents: [{ agentId: uniqueId('agent_existing'), name: 'Existing front desk' }] });
	p.el.control.setFaults({ retryAfterSecs: 0.01 });
	const u = await createTestUser(db, { label: 'agents-admin', isPlatformAdmin: true });
	adminUserId = u.id;
	admin = createCaller((await signedInContext(db, u.id)).ctx);
	const ta = await createTestMember(db, tenantId, 'tenant_admin');
	tenantAdmin = createCaller((await signedInContext(db, ta.id, { activeTenantId: tenantId })).ctx);
});
afterAll(async () => {
	await db.delete(platformSetting).where(eq(platformSetting.key, 'tenantAdminsManageAgents'));
	await p?.close();
	await stores.close();
});

const audits = (action: string) =>
	db.select().from(auditLog).where(and(eq(auditLog.actorUserId, adminUserId), eq(auditLog.action, action)));

describe('agents through the upstream API', () => {
	it('imports the workspace’s agents and assigns one to a tenant', async () => {
		const r = await admin.agents.import({ connectionId: p.connection.id });
		expect(r).toEqual({ listed: 1, added: 1 });
		const list = await admin.agents.list({ connectionId: p.connection.id });
		expect(list.rows.map((a) => a.name)).toEqual(['Existing front desk']);
		expect(list.rows[0].tenantId).toBeNull();
		const assigned = await admin.agents.assign({ connectionId: p.connection.id, agentId: list.rows[0].agentId, tenantId });
		expect(assigned.tenantId).toBe(tenantId);
		expect(await admin.agents.import({ connectionId: p.connection.id })).toEqual({ listed: 1, added: 0 });
		expect(await audits('agent.import')).toHaveLength(2);
	});

	it('creates, edits, duplicates and deletes an agent, each upstream and audited', async () => {
		const created = await admin.agents.create({ connectionId: p.connection.id, tenantId, fields });
		expect(created).toMatchObject({ name: 'Booking line', tenantId });
		const upstream = p.el.state.agents.get(created.agentId)!;
		expect(upstream.conversation_config).toMatchObject({
			agent: { first_message: fields.firstMessage, language: 'en', prompt: { prompt: fields.systemPrompt, llm: 'gpt-4o-mini', temperature: 0.3 } },
			tts: { voice_id: 'voice_abc', model_id: 'eleven_flash_v2_5' }
		});
		expect(upstream.platform_settings).toMatchObject({
			data_collection: { patient_name: { type: 'string' } },
			evaluation: { criteria: [{ id: 'booked', name: 'Appointment booked', type: 'prompt' }] }
		});

		const got = await admin.agents.get({ connectionId: p.connection.id, agentId: created.agentId });
		expect(got.fields).toEqual(fields);

		// A partial edit keeps every other setting (upstream merges nested sections).
		const edited = await admin.agents.update({ connectionId: p.connection.id, agentId: created.agentId, fields: { name: 'Booking line 2', temperature: 0.8 } });
		expect(edited.fields).toEqual({ ...fields, name: 'Booking line 2', temperature: 0.8 });
		expect(edited.name).toBe('Booking line 2');
		const [audit] = await audits('agent.update');
		expect(audit.before).toMatchObject({ temperature: 0.3, name: 'Booking line' });
		expect(audit.after).toMatchObject({ temperature: 0.8, name: 'Booking line 2' });

		const copy = await admin.agents.duplicate({ connectionId: p.connection.id, agentId: created.agentId });
		expect(copy).toMatchObject({ name: 'Booking line 2 (copy)', tenantId });
		expect(p.el.state.agents.get(copy.agentId)!.conversation_config).toEqual(p.el.state.agents.get(created.agentId)!.conversation_config);

		await admin.agents.delete({ connectionId: p.connection.id, agentId: copy.agentId });
		expect(p.el.state.agents.has(copy.agentId)).toBe(false);
		expect(await db.select().from(elevenlabsAgent).where(eq(elevenlabsAgent.agentId, copy.agentId))).toEqual([]);
		for (const action of ['agent.create', 'agent.update', 'agent.duplicate', 'agent.delete']) expect((await audits(action)).length).toBeGreaterThan(0);
	});

	it('shows each agent’s call statistics from the stored conversations', async () => {
		const created = await admin.agents.create({ connectionId: p.connection.id, tenantId, fields: { ...fields, name: 'Stats agent' } });
		const at = new Date('2025-03-01T10:00:00Z');
		await upsertConversationSnapshots({
			ctx: { db },
			input: {
				snapshots: [
					{ connectionId: p.connection.id, conversationId: uniqueId('conv'), agentId: created.agentId, source: 'poll', observedAt: at, status: 'done', callSuccessful: 'success', startedAt: at, durationSecs: 120, cost: '300.000000' },
					{ connectionId: p.connection.id, conversationId: uniqueId('conv'), agentId: created.agentId, source: 'poll', observedAt: at, status: 'done', callSuccessful: 'failure', startedAt: new Date(at.getTime() + 60_000), durationSecs: 30, cost: '90.000000' },
					{ connectionId: p.connection.id, conversationId: uniqueId('conv'), agentId: created.agentId, source: 'poll', observedAt: at, status: 'failed', startedAt: new Date(at.getTime() + 120_000), durationSecs: 0, cost: '0.000000' }
				]
			}
		});
		const { rows } = await admin.agents.list({ search: 'Stats agent' });
		expect(rows).toHaveLength(1);
		expect(rows[0].stats).toEqual({ calls: 3, answered: 2, failed: 1, successful: 1, totalSeconds: 150, cost: 390, lastCallAt: new Date(at.getTime() + 120_000) });
	});

	it('turns upstream 422, 404, 409 and 429 into readable messages and changes nothing here', async () => {
		const created = await admin.agents.create({ connectionId: p.connection.id, tenantId, fields: { ...fields, name: 'Fragile' } });
		const before = await db.select().from(elevenlabsAgent).where(eq(elevenlabsAgent.agentId, created.agentId));
		const auditsBefore = (await db.select().from(auditLog).where(like(auditLog.targetId, `%${created.agentId}`))).length;

		const invalid = await admin.agents.update({ connectionId: p.connection.id, agentId: created.agentId, fields: { llm: 'gpt-imaginary', name: 'Renamed' } }).catch((e: TRPCError) => e);
		expect(invalid).toBeInstanceOf(TRPCError);
		expect(invalid).toMatchObject({ code: 'BAD_REQUEST' });
		expect((invalid as TRPCError).message).toMatch(/ElevenLabs refused to save the agent: conversation_config\.agent\.prompt\.llm: Input should be/);

		p.el.control.failNext(1, 409, { pathPrefix: `/v1/convai/agents/${created.agentId}`, method: 'PATCH' });
		const conflict = await admin.agents.update({ connectionId: p.connection.id, agentId: created.agentId, fields: { name: 'Renamed' } }).catch((e: TRPCError) => e);
		expect(conflict).toMatchObject({ code: 'CONFLICT' });

		p.el.control.failNext(10, 429, { pathPrefix: `/v1/convai/agents/${created.agentId}`, method: 'PATCH' });
		const limited = await admin.agents.update({ connectionId: p.connection.id, agentId: created.agentId, fields: { name: 'Renamed' } }).catch((e: TRPCError) => e);
		expect(limited).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
		expect((limited as TRPCError).message).toMatch(/rate limiting/);

		// Deleted upstream behind our back: reading it says so.
		p.el.state.agents.delete(created.agentId);
		const missing = await admin.agents.get({ connectionId: p.connection.id, agentId: created.agentId }).catch((e: TRPCError) => e);
		expect(missing).toMatchObject({ code: 'NOT_FOUND' });
		expect((missing as TRPCError).message).toMatch(/ElevenLabs could not load the agent: it does not exist there/);

		p.el.control.failNext(1, 500, { pathPrefix: '/v1/convai/agents/create' });
		const down = await admin.agents.create({ connectionId: p.connection.id, tenantId, fields: { ...fields, name: 'Never made' } }).catch((e: TRPCError) => e);
		expect((down as TRPCError).message).toMatch(/ElevenLabs failed to create the agent \(HTTP 500\); nothing was changed here/);

		expect(await db.select().from(elevenlabsAgent).where(eq(elevenlabsAgent.agentId, created.agentId))).toEqual(before);
		expect(await db.select().from(elevenlabsAgent).where(eq(elevenlabsAgent.name, 'Never made'))).toEqual([]);
		expect((await db.select().from(auditLog).where(like(auditLog.targetId, `%${created.agentId}`))).length).toBe(auditsBefore);
	});

	it('lets tenant admins edit their own tenant’s agents only while the platform setting allows it', async () => {
		const mine = await admin.agents.create({ connectionId: p.connection.id, tenantId, fields: { ...fields, name: 'Tenant edits me' } });
		const theirs = await admin.agents.create({ connectionId: p.connection.id, tenantId: otherTenantId, fields: { ...fields, name: 'Not yours' } });
		await admin.agents.updateSettings({ tenantAdminsManageAgents: false });
		const refused = await tenantAdmin.tenantAgents.update({ connectionId: p.connection.id, agentId: mine.agentId, fields: { firstMessage: 'Hey' } }).catch((e: TRPCError) => e);
		expect(refused).toMatchObject({ code: 'FORBIDDEN' });

		await admin.agents.updateSettings({ tenantAdminsManageAgents: true });
		expect(await admin.agents.settings()).toEqual({ tenantAdminsManageAgents: true });
		const listed = await tenantAdmin.tenantAgents.list({});
		expect(listed.rows.map((a) => a.agentId)).toContain(mine.agentId);
		expect(listed.rows.map((a) => a.agentId)).not.toContain(theirs.agentId);
		const edited = await tenantAdmin.tenantAgents.update({ connectionId: p.connection.id, agentId: mine.agentId, fields: { firstMessage: 'Hey there' } });
		expect(edited.fields.firstMessage).toBe('Hey there');
		const other = await tenantAdmin.tenantAgents.update({ connectionId: p.connection.id, agentId: theirs.agentId, fields: { firstMessage: 'Hijack' } }).catch((e: TRPCError) => e);
		expect(other).toMatchObject({ code: 'NOT_FOUND' });
		expect((p.el.state.agents.get(theirs.agentId)!.conversation_config.agent as { first_message: string }).first_message).toBe(fields.firstMessage);
	});
});

describe('connection settings', () => {
	it('tests the connection: reports the workspace, or the refusal', async () => {
		const ok = await admin.ingestion.connections.test({ connectionId: p.connection.id });
		expect(ok).toMatchObject({ ok: true, workspace: 'Emulated workspace', tier: 'pro' });
		expect(ok.agents).toBeGreaterThan(0);
		await admin.ingestion.connections.update({ connectionId: p.connection.id, apiKey: 'sk_wrong_key_1234' });
		const bad = await admin.ingestion.connections.test({ connectionId: p.connection.id });
		expect(bad).toMatchObject({ ok: false });
		expect(bad.message).toMatch(/refused the API key.*Invalid API key/);
		const view = await admin.ingestion.connections.get({ connectionId: p.connection.id });
		expect(view.apiKeyHint).toMatch(/1234$/);
		expect(JSON.stringify(view)).not.toContain('sk_wrong_key_1234');
		await admin.ingestion.connections.update({ connectionId: p.connection.id, apiKey: p.connection.apiKey });
	});

	it('tests the Twilio account', async () => {
		expect(await admin.numbers.twilioAccounts.test({ twilioAccountId: p.account.id })).toEqual({ ok: true, message: 'Connected to VoxCalls emulated account (active)' });
	});
});
