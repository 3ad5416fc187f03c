/**
 * The access contract: every tRPC procedure × every principal, exactly as README.md's role matrix says.
 *
 * Adding a procedure (or a router)?
 *   1. Add its row to the table between `<!-- role-matrix:start -->` and `<!-- role-matrix:end -->` in README.md
 *      (cells: ok, UNAUTHORIZED, FORBIDDEN or NOT_FOUND).
 *   2. Add an input factory to INPUTS below: `(f) => input` (return undefined for no input). The input must be
 *      valid, so a refusal can only come from the ladder or the tenant scoping, never from zod. If the procedure
 *      needs a record to exist (a campaign, a connection...), create it in `buildFixture` inside tenant A and
 *      reference it from `f`. For an id-taking verb the "other tenant" principal gets A's id and must answer
 *      NOT_FOUND.
 * The test fails while either is missing, so no procedure can skip the matrix.
 *
 * Every (procedure, principal) call runs in its own savepoint that is rolled back, inside one rolled-back
 * transaction per procedure, with a real session and the same context builder as a web request.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TRPCError } from '@trpc/server';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startElevenLabsEmulator, type ElevenLabsEmulator } from '../../src/emulators/elevenlabs/server';
import { startTwilioEmulator, type TwilioEmulator } from '../../src/emulators/twilio/server';
import { sealSecret, secretHint } from '../../src/lib/server/crypto/secrets';
import type { Tx } from '../../src/lib/server/db/client';
import { auditLog, campaign, elevenlabsAgent, elevenlabsConnection, invitation, mailDrop, membership, phoneNumber, platformSetting, session, tenant } from '../../src/lib/server/db/schema/index';
import { saveTwilioAccount } from '../../src/lib/server/services/numbers/twilio-accounts';
import { upsertConversationSnapshots } from '../../src/lib/server/ingest/upsert';
import { inviteMember } from '../../src/lib/server/services/invitations/index';
import { closeMonth } from '../../src/lib/server/services/finance/index';
import { systemActor, userActor } from '../../src/lib/server/services/context';
import { createCallerFactory, createContextForSession, type Context } from '../../src/lib/server/trpc/init';
import { appRouter } from '../../src/lib/server/trpc/root';
import { createTestCampaign, createTestDrop } from '../factories/campaigns';
import { createTestConnection } from '../factories/ingest';
import { createTestTenant } from '../factories/tenant';
import { anonymousContext, createTestMember, createTestUser, signedInContext } from '../factories/users';
import { connectTestStores, withRollback } from '../setup/stores';
import { TEST_APP_SECRET } from '../setup/test-env';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PRINCIPALS = ['anonymous', 'other tenant', 'viewer', 'finance', 'marketer', 'tenant_admin', 'platform_admin'] as const;
type Principal = (typeof PRINCIPALS)[number];
const OUTCOMES = ['ok', 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND'] as const;
type Outcome = (typeof OUTCOMES)[number];

// ---------------------------------------------------------------------------------------------------------------
// The README table.

function parseReadmeMatrix(markdown: string): Map<string, Record<Principal, Outcome>> {
	const start = markdown.indexOf('<!-- role-matrix:start -->');
	const end = markdown.indexOf('<!-- role-matrix:end -->');
	if (start < 0 || end < start) throw new Error('README.md has no role-matrix markers');
	const lines = markdown
		.slice(start, end)
		.split('\n')
		.map((l) => l.trim());
	const cells = (l: string) =>
		l
			.replace(/^\|/, '')
			.replace(/\|$/, '')
			.split('|')
			.map((c) => c.trim().replaceAll('`', ''));
	const headerAt = lines.findIndex((l) => l.startsWith('|') && cells(l)[0] === 'procedure');
	if (headerAt < 0) throw new Error('README role matrix: no table whose first column is "procedure"');
	const header = cells(lines[headerAt]).slice(1);
	expect(header, 'README role matrix columns').toEqual([...PRINCIPALS]);
	const rows = new Map<string, Record<Principal, Outcome>>();
	for (const line of lines.slice(headerAt + 2)) {
		if (!line.startsWith('|')) break;
		const [path, ...values] = cells(line);
		for (const v of values) if (!(OUTCOMES as readonly string[]).includes(v)) throw new Error(`README row ${path}: unknown cell "${v}"`);
		if (rows.has(path)) throw new Error(`README row ${path} appears twice`);
		rows.set(path, Object.fromEntries(PRINCIPALS.map((p, i) => [p, values[i] as Outcome])) as Record<Principal, Outcome>);
	}
	return rows;
}

const matrix = parseReadmeMatrix(readFileSync(resolve(root, 'README.md'), 'utf8'));
const procedures = Object.keys(appRouter._def.procedures).sort();

// ---------------------------------------------------------------------------------------------------------------
// The world every call runs against: tenant A (the target), tenant B (the "other tenant"), a suspended tenant C.

const SECRETS = { apiKey: `sk_matrix_${randomUUID()}`, webhookSecret: `wsec_matrix_${randomUUID()}` };

// Procedures that talk to the providers (agents, numbers) reach these emulators; what they change there is not
// rolled back, so every fixture makes its own upstream agent and number.
const UPSTREAM = { apiKey: `sk_upstream_${randomUUID()}`, accountSid: `AC${randomUUID().replaceAll('-', '')}`, authToken: `tw_matrix_${randomUUID()}` };
let el: ElevenLabsEmulator;
let twilio: TwilioEmulator;
beforeAll(async () => {
	el = await startElevenLabsEmulator({ apiKey: UPSTREAM.apiKey, agents: [{ agentId: 'agent_matrix_seed', name: 'Seed' }] });
	twilio = await startTwilioEmulator({ accountSid: UPSTREAM.accountSid, authToken: UPSTREAM.authToken });
});
afterAll(async () => {
	await el?.close();
	await twilio?.close();
});
let numberSeq = 0;

/** Tenant A's upstream world: a connection to the emulator, an agent mapped to A, a number of A, a Twilio account. */
async function buildUpstreamFixture(tx: Tx, tenantAId: string) {
	const [upstreamConnection] = await tx
		.insert(elevenlabsConnection)
		.values({
			tenantId: null,
			name: 'Matrix upstream',
			baseUrl: el.url,
			apiKeySealed: sealSecret(UPSTREAM.apiKey, TEST_APP_SECRET),
			apiKeyHint: secretHint(UPSTREAM.apiKey),
			webhookSecretSealed: sealSecret(SECRETS.webhookSecret, TEST_APP_SECRET),
			webhookSecretHint: secretHint(SECRETS.webhookSecret)
		})
		.returning({ id: elevenlabsConnection.id });
	const agent = el.state.createAgent({ name: 'Matrix agent', conversationConfig: null });
	await tx.insert(elevenlabsAgent).values({ connectionId: upstreamConnection.id, agentId: agent.agent_id, name: agent.name, tenantId: tenantAId, mappedAt: new Date() });
	const account = await saveTwilioAccount({
		ctx: { db: tx, actor: systemActor('access-matrix') },
		input: { name: 'Matrix Twilio', accountSid: UPSTREAM.accountSid, authToken: UPSTREAM.authToken, baseUrl: twilio.url }
	});
	const e164 = `+1617555${String(1000 + (numberSeq++ % 9000)).padStart(4, '0')}`;
	const sid = `PN${randomUUID().replaceAll('-', '')}`;
	twilio.numbers.set(sid, { sid, phone_number: e164, friendly_name: e164, date_created: new Date().toUTCString(), voice_url: '', sms_url: '', status_callback: '' });
	const upstreamNumber = el.state.createPhoneNumber({ phoneNumber: e164, label: e164, agentId: agent.agent_id });
	const [numberA] = await tx
		.insert(phoneNumber)
		.values({ e164, country: 'US', status: 'active', twilioAccountId: account.id, connectionId: upstreamConnection.id, twilioSid: sid, elevenlabsPhoneNumberId: upstreamNumber.phone_number_id, tenantId: tenantAId, agentId: agent.agent_id })
		.returning({ id: phoneNumber.id, e164: phoneNumber.e164 });
	// Tenant admins may edit their tenant's agents in this world (the setting is rolled back with the rest).
	await tx.insert(platformSetting).values({ key: 'tenantAdminsManageAgents', value: true }).onConflictDoUpdate({ target: platformSetting.key, set: { value: true } });
	const spare = el.state.createAgent({ name: 'Matrix spare', conversationConfig: null });
	await tx.insert(elevenlabsAgent).values({ connectionId: upstreamConnection.id, agentId: spare.agent_id, name: spare.name, tenantId: tenantAId });
	return { upstreamConnection, agentId: agent.agent_id, spareAgentId: spare.agent_id, twilioAccountId: account.id, numberA, buyE164: `+1617556${String(1000 + (numberSeq % 9000)).padStart(4, '0')}` };
}

async function buildFixture(tx: Tx) {
	const suffix = randomUUID().slice(0, 8);
	const a = await createTestTenant(tx, { name: `Matrix A ${suffix}`, slug: `matrix-a-${suffix}` });
	const b = await createTestTenant(tx, { name: `Matrix B ${suffix}`, slug: `matrix-b-${suffix}` });
	const c = await createTestTenant(tx, { name: `Matrix C ${suffix}`, slug: `matrix-c-${suffix}`, status: 'suspended' });
	const members = {
		viewer: await createTestMember(tx, a.id, 'viewer'),
		finance: await createTestMember(tx, a.id, 'finance'),
		marketer: await createTestMember(tx, a.id, 'marketer'),
		tenant_admin: await createTestMember(tx, a.id, 'tenant_admin')
	};
	// The member whom role changes and removals act on, and an open invitation to revoke.
	const target = await createTestMember(tx, a.id, 'viewer', { label: 'target' });
	const adminOfA = members.tenant_admin;
	const inviteA = await inviteMember({
		ctx: { db: tx, actor: userActor(adminOfA), tenant: { ...a }, role: 'tenant_admin' },
		input: { email: `invitee-${suffix}@example.test`, role: 'marketer' }
	});
	const otherAdmin = await createTestMember(tx, b.id, 'tenant_admin', { label: 'other-admin' });
	await createTestMember(tx, b.id, 'viewer', { label: 'other-viewer' });
	const platformAdmin = await createTestUser(tx, { label: 'platform', isPlatformAdmin: true });
	// A stored upstream secret of tenant A: no answer to anyone may ever contain it.
	const [connectionA] = await tx.insert(elevenlabsConnection).values({
		tenantId: a.id,
		name: `Matrix connection ${suffix}`,
		baseUrl: 'http://127.0.0.1:1',
		apiKeySealed: sealSecret(SECRETS.apiKey, TEST_APP_SECRET),
		apiKeyHint: secretHint(SECRETS.apiKey),
		webhookSecretSealed: sealSecret(SECRETS.webhookSecret, TEST_APP_SECRET),
		webhookSecretHint: secretHint(SECRETS.webhookSecret)
	}).returning({ id: elevenlabsConnection.id });
	// A call of tenant A (inside the January 2025 window the calls.* inputs ask for): only A's principals may list it.
	// (On a connection of its own: connection A must stay deletable for ingestion.connections.delete.)
	const callA = `conv_matrix_${suffix}`;
	const callAt = new Date('2025-01-15T15:00:00Z');
	const callConnection = await createTestConnection(tx, { tenantId: a.id });
	await upsertConversationSnapshots({
		ctx: { db: tx },
		input: {
			snapshots: [
				{
					connectionId: callConnection.id,
					conversationId: callA,
					agentId: `agent_calls_${suffix}`,
					source: 'poll',
					observedAt: callAt,
					status: 'done',
					startedAt: callAt,
					durationSecs: 95,
					externalNumber: '+14155550123',
					title: `Matrix call ${suffix}`
				}
			]
		}
	});
	// A closed January statement of tenant A (holding callA): the finance.* verbs read, export and reopen it.
	const [closedA] = await closeMonth({ ctx: { db: tx, actor: userActor(platformAdmin) }, input: { period: '2025-01', tenantId: a.id } });
	if (closedA.outcome !== 'closed') throw new Error(`fixture: January of tenant A did not close (${closedA.outcome})`);
	const statementA = { id: closedA.statementId };
	// A campaign of tenant A with a completed drop (one recipient) and an upload awaiting its column mapping.
	const campaignA = await createTestCampaign(tx, a.id, { name: `Matrix campaign ${suffix}` });
	const completedDropA = await createTestDrop(tx, campaignA, { status: 'completed', recipients: [{ phone: '+14155550199', firstName: `Matrixperson${suffix}` }] });
	const awaitingDropA = await createTestDrop(tx, campaignA, { status: 'awaiting_mapping', headers: ['phone', 'first name'] });
	const sessionUser: Record<Exclude<Principal, 'anonymous'>, { id: string; activeTenantId: string }> = {
		'other tenant': { id: otherAdmin.id, activeTenantId: b.id },
		viewer: { id: members.viewer.id, activeTenantId: a.id },
		finance: { id: members.finance.id, activeTenantId: a.id },
		marketer: { id: members.marketer.id, activeTenantId: a.id },
		tenant_admin: { id: members.tenant_admin.id, activeTenantId: a.id },
		platform_admin: { id: platformAdmin.id, activeTenantId: a.id }
	};
	const tokens = {} as Record<Exclude<Principal, 'anonymous'>, string>;
	for (const [p, u] of Object.entries(sessionUser) as [Exclude<Principal, 'anonymous'>, { id: string; activeTenantId: string }][]) {
		tokens[p] = (await signedInContext(tx, u.id, { activeTenantId: u.activeTenantId })).token;
	}
	const [sealed] = await tx
		.select({ apiKey: elevenlabsConnection.apiKeySealed, webhookSecret: elevenlabsConnection.webhookSecretSealed })
		.from(elevenlabsConnection)
		.where(eq(elevenlabsConnection.tenantId, a.id));
	const [{ tokenHash }] = await tx.select({ tokenHash: invitation.tokenHash }).from(invitation).where(eq(invitation.id, inviteA.invitationId));
	const upstream = await buildUpstreamFixture(tx, a.id);
	return {
		upstream,
		suffix,
		a,
		b,
		c,
		members,
		target,
		invitationA: inviteA,
		otherAdmin,
		platformAdmin,
		connectionA,
		statementA,
		campaignA,
		completedDropA,
		awaitingDropA,
		tokens,
		/** Strings no answer may contain, to anyone. */
		// (`sk_new_`/`wsec_new_` are the secrets ingestion.connections.create is given; its answer must not echo them.)
		neverLeak: [UPSTREAM.apiKey, UPSTREAM.authToken, SECRETS.apiKey, SECRETS.webhookSecret, sealed.apiKey, sealed.webhookSecret, `sk_new_${suffix}`, `wsec_new_${suffix}`, tokenHash, TEST_APP_SECRET, '$argon2'],
		/** Strings that identify tenant A: the "other tenant" principal must never see one. */
		tenantAMarks: [a.id, a.slug, a.name, target.email, adminOfA.email, members.viewer.email, inviteA.invitationId, callA, campaignA.id, campaignA.name, completedDropA.id, completedDropA.trackingCodes[0], `Matrixperson${suffix}`, upstream.numberA.e164, upstream.agentId]
	};
}
type Fixture = Awaited<ReturnType<typeof buildFixture>>;

// ---------------------------------------------------------------------------------------------------------------
// One valid input per procedure.

const INPUTS: Record<string, (f: Fixture) => unknown> = {
	'system.ping': () => undefined,
	'auth.me': () => undefined,
	'auth.switchTenant': (f) => ({ tenantId: f.a.id }),
	'tenants.current': () => undefined,
	'tenants.updateSettings': () => ({ timezone: 'Europe/London', defaultCountry: 'GB' }),
	'tenants.list': () => undefined,
	'tenants.create': (f) => ({ name: `Created ${f.suffix}`, slug: `created-${f.suffix}`, timezone: 'Europe/Berlin', defaultCountry: 'DE' }),
	'tenants.update': (f) => ({ tenantId: f.a.id, name: `Renamed ${f.suffix}`, timezone: 'America/Chicago' }),
	'tenants.suspend': (f) => ({ tenantId: f.a.id }),
	'tenants.reactivate': (f) => ({ tenantId: f.c.id }),
	'members.list': () => undefined,
	'members.listInvitations': () => undefined,
	'members.invite': (f) => ({ email: `new-${f.suffix}@example.test`, role: 'viewer' }),
	'members.changeRole': (f) => ({ userId: f.target.id, role: 'marketer' }),
	'members.remove': (f) => ({ userId: f.target.id }),
	'members.revokeInvitation': (f) => ({ invitationId: f.invitationA.invitationId }),
	'audit.list': () => ({ page: 1, pageSize: 20 }),
	'audit.listAll': (f) => ({ tenantId: f.a.id, page: 1, pageSize: 20 }),
	'calls.summary': () => ({ from: '2025-01-01', to: '2025-01-31' }),
	'calls.list': () => ({ from: '2025-01-01', to: '2025-01-31', search: '555', page: 1, pageSize: 20 }),
	'campaigns.list': () => ({ search: 'Matrix', page: 1, pageSize: 20 }),
	'campaigns.get': (f) => ({ campaignId: f.campaignA.id }),
	'campaigns.create': (f) => ({ name: `New campaign ${f.suffix}`, channel: 'direct_mail', trackingNumbers: ['+14155550100'] }),
	'campaigns.update': (f) => ({ campaignId: f.campaignA.id, status: 'active', notes: 'updated by the matrix' }),
	'campaigns.funnel': (f) => ({ campaignId: f.campaignA.id, from: '2025-01-01', to: '2025-01-31' }),
	'campaigns.recipients': (f) => ({ campaignId: f.campaignA.id, search: 'Matrixperson', page: 1, pageSize: 20 }),
	'campaigns.drops.get': (f) => ({ dropId: f.completedDropA.id }),
	'campaigns.drops.startImport': (f) => ({ dropId: f.awaitingDropA.id, mapping: { phone: 0, firstName: 1 } }),
	'campaigns.drops.cancelImport': (f) => ({ dropId: f.awaitingDropA.id }),
	'ingestion.status': () => undefined,
	'ingestion.connections.list': () => undefined,
	'ingestion.connections.get': (f) => ({ connectionId: f.connectionA.id }),
	'ingestion.connections.create': (f) => ({ name: `Conn ${f.suffix}`, baseUrl: 'https://api.elevenlabs.io', apiKey: `sk_new_${f.suffix}`, webhookSecret: `wsec_new_${f.suffix}`, tenantId: f.a.id }),
	'ingestion.connections.update': (f) => ({ connectionId: f.connectionA.id, name: `Renamed ${f.suffix}`, enabled: false }),
	'ingestion.connections.delete': (f) => ({ connectionId: f.connectionA.id }),
	'ingestion.agents.list': (f) => ({ connectionId: f.connectionA.id }),
	'ingestion.agents.map': (f) => ({ connectionId: f.connectionA.id, agentId: `agent_${f.suffix}`, tenantId: f.a.id }),
	'ingestion.quarantine.list': (f) => ({ connectionId: f.connectionA.id }),
	'ingestion.quarantine.conversations': (f) => ({ connectionId: f.connectionA.id, agentId: `agent_${f.suffix}` }),
	'ingestion.quarantine.release': (f) => ({ connectionId: f.connectionA.id }),
	'finance.month': () => ({ period: '2025-01' }),
	'finance.statements': () => undefined,
	'finance.statement': (f) => ({ statementId: f.statementA.id }),
	'finance.rules': () => undefined,
	'finance.exportMinutes': () => ({ from: '2025-01', to: '2025-02' }),
	'finance.platform.overview': () => ({ period: '2025-01' }),
	'finance.platform.statements': (f) => ({ tenantId: f.a.id }),
	'finance.platform.statement': (f) => ({ statementId: f.statementA.id }),
	'finance.platform.exportMinutes': () => ({ period: '2025-01' }),
	'finance.platform.closeMonth': (f) => ({ period: '2025-02', tenantId: f.a.id }),
	'finance.platform.saveRule': (f) => ({ tenantId: f.a.id, effectiveFrom: '2025-03', rounding: 'per_minute', minBillableSecs: 0, countFailedCalls: false, includedMinutes: 100, pricePerMinute: '0.25', pricePerConversion: '0' }),
	// Tenant A's connections point at a closed port: the report carries that as an error, the call still answers.
	'finance.platform.reconcile': (f) => ({ tenantId: f.a.id, period: '2025-01' }),
	'finance.platform.setCreditRate': (f) => ({ connectionId: f.connectionA.id, perCredit: '0.00018' }),
	'finance.platform.setTelephonyRate': (f) => ({ tenantId: f.a.id, phoneNumber: '+14155550100', perMinute: '0.013' }),
	'finance.platform.reopen': (f) => ({ statementId: f.statementA.id, reason: 'Matrix reopen' }),
	'ingestion.connections.test': (f) => ({ connectionId: f.upstream.upstreamConnection.id }),
	'agents.list': () => ({ search: 'Matrix', page: 1, pageSize: 20 }),
	'agents.get': (f) => ({ connectionId: f.upstream.upstreamConnection.id, agentId: f.upstream.agentId }),
	'agents.create': (f) => ({
		connectionId: f.upstream.upstreamConnection.id,
		tenantId: f.a.id,
		fields: { name: `Created ${f.suffix}`, firstMessage: 'Hi', systemPrompt: 'Be kind', llm: 'gpt-4o-mini', temperature: 0.2, language: 'en', voiceId: 'v1', ttsModel: 'eleven_flash_v2', dataCollection: [], evaluationCriteria: [] }
	}),
	'agents.update': (f) => ({ connectionId: f.upstream.upstreamConnection.id, agentId: f.upstream.agentId, fields: { firstMessage: 'Hello again' } }),
	'agents.duplicate': (f) => ({ connectionId: f.upstream.upstreamConnection.id, agentId: f.upstream.agentId }),
	// A spare agent: the main one answers number A, and deleting it would rightly be refused.
	'agents.delete': (f) => ({ connectionId: f.upstream.upstreamConnection.id, agentId: f.upstream.spareAgentId }),
	'agents.import': (f) => ({ connectionId: f.upstream.upstreamConnection.id }),
	'agents.assign': (f) => ({ connectionId: f.upstream.upstreamConnection.id, agentId: f.upstream.agentId, tenantId: f.a.id }),
	'agents.settings': () => undefined,
	'agents.updateSettings': () => ({ tenantAdminsManageAgents: true }),
	'tenantAgents.list': () => ({}),
	'tenantAgents.get': (f) => ({ connectionId: f.upstream.upstreamConnection.id, agentId: f.upstream.agentId }),
	'tenantAgents.update': (f) => ({ connectionId: f.upstream.upstreamConnection.id, agentId: f.upstream.agentId, fields: { firstMessage: 'Tenant says hi' } }),
	'numbers.list': () => ({}),
	'numbers.search': (f) => ({ twilioAccountId: f.upstream.twilioAccountId, country: 'US', areaCode: 415, limit: 3 }),
	'numbers.buy': (f) => ({ twilioAccountId: f.upstream.twilioAccountId, connectionId: f.upstream.upstreamConnection.id, e164: f.upstream.buyE164 }),
	'numbers.assign': (f) => ({ numberId: f.upstream.numberA.id, tenantId: f.a.id, agentId: f.upstream.agentId, campaignTracking: true }),
	'numbers.release': (f) => ({ numberId: f.upstream.numberA.id, confirmE164: f.upstream.numberA.e164 }),
	'numbers.retry': (f) => ({ numberId: f.upstream.numberA.id }),
	'numbers.drift': () => undefined,
	'numbers.reconcile': () => undefined,
	'numbers.twilioAccounts.list': () => undefined,
	'numbers.twilioAccounts.save': (f) => ({ twilioAccountId: f.upstream.twilioAccountId, name: `Renamed ${f.suffix}`, accountSid: UPSTREAM.accountSid }),
	'numbers.twilioAccounts.test': (f) => ({ twilioAccountId: f.upstream.twilioAccountId }),
	'tenantNumbers.list': () => undefined,
	'tenantNumbers.claim': (f) => ({ numberId: f.upstream.numberA.id, agentId: f.upstream.agentId }),
	'tenantNumbers.giveBack': (f) => ({ numberId: f.upstream.numberA.id })
};

// ---------------------------------------------------------------------------------------------------------------
// Calling.

const createCaller = createCallerFactory(appRouter);
const stores = connectTestStores();
afterAll(() => stores.close());

class Rollback extends Error {}
async function inSavepoint<T>(tx: Tx, fn: (sp: Tx) => Promise<T>): Promise<T> {
	let out: T | undefined;
	await tx
		.transaction(async (sp) => {
			out = await fn(sp);
			throw new Rollback();
		})
		.catch((err) => {
			if (!(err instanceof Rollback)) throw err;
		});
	return out as T;
}

function contextFor(sp: Tx, f: Fixture, p: Principal): Promise<Context> {
	if (p === 'anonymous') return anonymousContext(sp);
	return createContextForSession({ db: sp, sessionToken: f.tokens[p], requestIp: '198.51.100.9' });
}

/** Everything of tenant A a stray write could touch. */
async function snapshotTenantA(sp: Tx, f: Fixture) {
	return JSON.stringify([
		await sp.select().from(tenant).where(eq(tenant.id, f.a.id)),
		await sp.select().from(membership).where(eq(membership.tenantId, f.a.id)).orderBy(membership.userId),
		await sp.select().from(invitation).where(eq(invitation.tenantId, f.a.id)).orderBy(invitation.id),
		await sp.select().from(campaign).where(eq(campaign.tenantId, f.a.id)).orderBy(campaign.id),
		await sp.select().from(mailDrop).where(eq(mailDrop.tenantId, f.a.id)).orderBy(mailDrop.id),
		await sp.select({ id: auditLog.id }).from(auditLog).where(eq(auditLog.tenantId, f.a.id)).orderBy(auditLog.id),
		await sp.select().from(phoneNumber).where(eq(phoneNumber.tenantId, f.a.id)).orderBy(phoneNumber.id),
		await sp.select().from(elevenlabsAgent).where(eq(elevenlabsAgent.tenantId, f.a.id)).orderBy(elevenlabsAgent.agentId),
		await sp.select({ id: session.id }).from(session).innerJoin(membership, eq(membership.userId, session.userId)).where(eq(membership.tenantId, f.a.id)).orderBy(session.id)
	]);
}

type CallResult = { outcome: Outcome | string; body: string; tenantAChanged: boolean };

async function callAs(tx: Tx, f: Fixture, p: Principal, path: string): Promise<CallResult> {
	return inSavepoint(tx, async (sp) => {
		const before = p === 'other tenant' ? await snapshotTenantA(sp, f) : '';
		const caller = createCaller(await contextFor(sp, f, p));
		// The caller is a proxy keyed by path segments; `a.b` is caller.a.b(input).
		const proc = path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], caller) as (i: unknown) => Promise<unknown>;
		let outcome: CallResult['outcome'];
		let body: string;
		try {
			const data = await proc(INPUTS[path](f));
			outcome = 'ok';
			body = JSON.stringify(data) ?? '';
		} catch (err) {
			if (!(err instanceof TRPCError)) throw err;
			outcome = err.code;
			body = `${err.code} ${err.message}`;
		}
		const tenantAChanged = p === 'other tenant' && (await snapshotTenantA(sp, f)) !== before;
		return { outcome, body, tenantAChanged };
	});
}

// ---------------------------------------------------------------------------------------------------------------

describe('access matrix (README.md is the contract)', () => {
	it('lists every procedure of the router in the README, and no procedure that does not exist', () => {
		const documented = [...matrix.keys()].sort();
		expect(procedures.filter((p) => !matrix.has(p)), 'procedures missing from the README role matrix').toEqual([]);
		expect(documented.filter((p) => !procedures.includes(p)), 'README rows naming no procedure').toEqual([]);
	});

	it('has an input factory for every procedure', () => {
		expect(procedures.filter((p) => !(p in INPUTS)), 'procedures without an input factory in access-matrix.test.ts').toEqual([]);
	});

	it.each(procedures)('%s answers every principal as the README says', async (path) => {
		const expected = matrix.get(path);
		expect(expected, `${path} has no row in the README role matrix`).toBeDefined();
		expect(INPUTS[path], `${path} has no input factory in access-matrix.test.ts`).toBeDefined();
		await withRollback(stores.db, async (tx) => {
			const f = await buildFixture(tx);
			const actual = {} as Record<Principal, string>;
			for (const p of PRINCIPALS) {
				const r = await callAs(tx, f, p, path);
				actual[p] = r.outcome;
				for (const s of f.neverLeak) expect(r.body, `${path} as ${p} leaked a secret or hash`).not.toContain(s);
				if (p === 'other tenant') {
					for (const s of f.tenantAMarks) expect(r.body, `${path} as another tenant's admin showed tenant A (${s})`).not.toContain(s);
					expect(r.tenantAChanged, `${path} as another tenant's admin changed tenant A`).toBe(false);
				}
			}
			expect(actual).toEqual(expected);
		});
	});
});
