import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phoneNumber } from '../../src/lib/server/db/schema/index';
import { systemActor, userActor } from '../../src/lib/server/services/context';
import { advanceNumber, assignNumber, buyNumber, releaseNumber, resumePendingNumbers, searchAvailableNumbers } from '../../src/lib/server/services/numbers/index';
import { reconcileNumbers } from '../../src/lib/server/services/numbers/reconcile';
import { createTestTenant } from '../factories/tenant';
import { createTestMember, createTestUser, signedInContext } from '../factories/users';
import { createCallerFactory } from '../../src/lib/server/trpc/init';
import { appRouter } from '../../src/lib/server/trpc/root';
import { startProviders, type Providers } from '../factories/numbers';
import { connectTestStores } from '../setup/stores';

// The number lifecycle against both emulators, with a provider failure injected at every step of
// buy → import → assign and of release. After the retry each ends with no orphan in Twilio, ElevenLabs or our
// rows, which the reconcile job confirms.

const stores = connectTestStores();
const db = stores.db.db;
let p: Providers;
let tenantId: string;
let agentId: string;
let admin: Awaited<ReturnType<typeof createTestUser>>;
const ctx = () => ({ db, actor: userActor(admin) });
let seq = 0;
// A distinct number per test, in the emulator's 512 area.
const nextE164 = () => `+1512555${String(1000 + seq++).padStart(4, '0')}`;

beforeAll(async () => {
	const t = await createTestTenant(db);
	tenantId = t.id;
	admin = await createTestUser(db, { label: 'numbers-admin', isPlatformAdmin: true });
	p = await startProviders(db);
	agentId = p.agentIds[0];
	await p.mapAgentToTenant(agentId, tenantId);
});
afterAll(async () => {
	await p?.close();
	await stores.close();
});

async function row(id: string) {
	const [r] = await db.select().from(phoneNumber).where(eq(phoneNumber.id, id));
	return r;
}

/** The reconcile job's verdict for this test's account, for one number. */
async function driftFor(e164: string) {
	const report = await reconcileNumbers({ ctx: { db, actor: systemActor('test') }, input: { twilioAccountIds: [p.account.id] } });
	expect(report.error).toBeNull();
	return report.drift.filter((d) => d.e164 === e164);
}

async function buyAndAssign(e164: string) {
	const bought = await buyNumber({ ctx: ctx(), input: { twilioAccountId: p.account.id, connectionId: p.connection.id, e164, friendlyName: 'Front desk line' } });
	return bought;
}

async function expectProvisioned(id: string, e164: string, agent: string | null) {
	const r = await row(id);
	expect(r.status).toBe('active');
	expect(r.lastError).toBeNull();
	expect(p.atTwilio().filter((n) => n === e164)).toHaveLength(1);
	const upstream = [...p.el.state.phoneNumbers.values()].filter((n) => n.phone_number === e164);
	expect(upstream).toHaveLength(1);
	expect(upstream[0].agent_id).toBe(agent);
	expect(r.twilioSid).toBe([...p.twilio.numbers.values()].find((n) => n.phone_number === e164)!.sid);
	expect(r.elevenlabsPhoneNumberId).toBe(upstream[0].phone_number_id);
	expect(await driftFor(e164)).toEqual([]);
}

async function expectGone(id: string, e164: string) {
	const r = await row(id);
	expect(r.status).toBe('released');
	expect(r.twilioSid).toBeNull();
	expect(r.elevenlabsPhoneNumberId).toBeNull();
	expect(p.atTwilio()).not.toContain(e164);
	expect(p.atElevenLabs()).not.toContain(e164);
	expect(await driftFor(e164)).toEqual([]);
}

describe('number pool lifecycle', () => {
	it('searches by country, area code and digits; buys, imports, assigns and releases', async () => {
		const found = await searchAvailableNumbers({ ctx: ctx(), input: { twilioAccountId: p.account.id, country: 'US', areaCode: 415, contains: '7', limit: 5 } });
		expect(found.length).toBeGreaterThan(0);
		for (const n of found) {
			expect(n.e164).toMatch(/^\+1415/);
			expect(n.e164.slice(2)).toContain('7');
		}
		const e164 = found[0].e164;
		const { number, advance } = await buyAndAssign(e164);
		expect(advance.error).toBeNull();
		await expectProvisioned(number.id, e164, null);
		expect(number.status).toBe('active');
		expect(number.tenantId).toBeNull();

		const assigned = await assignNumber({ ctx: ctx(), input: { numberId: number.id, tenantId, agentId, campaignTracking: true } });
		expect(assigned.number).toMatchObject({ status: 'active', tenantId, agentId, campaignTracking: true });
		await expectProvisioned(number.id, e164, agentId);

		const refused = await releaseNumber({ ctx: ctx(), input: { numberId: number.id, confirmE164: '+15550000000' } }).catch((e: Error) => e);
		expect(refused).toMatchObject({ code: 'BAD_INPUT' });
		expect((await row(number.id)).status).toBe('active');

		const released = await releaseNumber({ ctx: ctx(), input: { numberId: number.id, confirmE164: e164 } });
		expect(released.number.status).toBe('released');
		await expectGone(number.id, e164);
	});

	it('refuses a number already in the pool and a malformed one, changing nothing', async () => {
		const e164 = nextE164();
		const { number } = await buyAndAssign(e164);
		const again = await buyAndAssign(e164).catch((e: Error) => e);
		expect(again).toMatchObject({ code: 'CONFLICT' });
		const bad = await buyAndAssign('12345').catch((e: Error) => e);
		expect(bad).toMatchObject({ code: 'BAD_INPUT' });
		expect(p.atTwilio().filter((n) => n === e164)).toHaveLength(1);
		await releaseNumber({ ctx: ctx(), input: { numberId: number.id, confirmE164: e164 } });
	});

	// Each case: the fault, the state the number waits in, and what must hold once the retry ran.
	const buyFaults = [
		{ name: 'Twilio refuses the purchase', state: 'purchasing', inject: () => p.twilio.failNext({ count: 1, status: 500, method: 'POST', pathContains: '/IncomingPhoneNumbers.json' }) },
		{ name: 'Twilio buys but the answer is lost', state: 'purchasing', inject: () => p.twilio.failNext({ count: 1, status: 500, method: 'POST', pathContains: '/IncomingPhoneNumbers.json', after: true }) },
		{ name: 'ElevenLabs refuses the import', state: 'importing', inject: () => p.el.control.failNext(1, 500, { pathPrefix: '/v1/convai/phone-numbers', method: 'POST' }) },
		{ name: 'ElevenLabs imports but the answer is lost', state: 'importing', inject: () => p.el.control.failNext(1, 503, { pathPrefix: '/v1/convai/phone-numbers', method: 'POST', after: true }) },
		{ name: 'ElevenLabs is rate limiting the import', state: 'importing', inject: () => p.el.control.failNext(5, 429, { pathPrefix: '/v1/convai/phone-numbers', method: 'POST' }) }
	] as const;

	it.each(buyFaults)('buy: $name → waits in $state, the retry finishes it, no orphan', async ({ state, inject }) => {
		p.el.control.setFaults({ retryAfterSecs: 0.01 });
		const e164 = nextE164();
		inject();
		const { number, advance } = await buyAndAssign(e164);
		expect(advance.error).not.toBeNull();
		const waiting = await row(number.id);
		expect(waiting.status).toBe(state);
		expect(waiting.attempts).toBe(1);
		expect(waiting.nextAttemptAt!.getTime()).toBeGreaterThan(Date.now());
		// What the resume job does when the retry is due.
		const retried = await advanceNumber({ db, actor: systemActor('job:numbers.resume') }, number.id);
		expect(retried).toMatchObject({ status: 'active', error: null });
		await expectProvisioned(number.id, e164, null);
		await releaseNumber({ ctx: ctx(), input: { numberId: number.id, confirmE164: e164 } });
		await expectGone(number.id, e164);
	});

	it('the resume job leaves a failed step alone until its retry is due, then finishes it', async () => {
		const e164 = nextE164();
		p.twilio.failNext({ count: 1, status: 503, method: 'POST', pathContains: '/IncomingPhoneNumbers.json' });
		const { number } = await buyAndAssign(e164);
		const job = { db, actor: systemActor('job:numbers.resume') };
		expect(await resumePendingNumbers({ ctx: job, input: { numberIds: [number.id] } })).toEqual([]);
		expect((await row(number.id)).status).toBe('purchasing');
		const due = new Date((await row(number.id)).nextAttemptAt!.getTime() + 1);
		const ran = await resumePendingNumbers({ ctx: job, input: { numberIds: [number.id], now: due } });
		expect(ran).toEqual([{ numberId: number.id, status: 'active', error: null, ran: true }]);
		await expectProvisioned(number.id, e164, null);
		await releaseNumber({ ctx: ctx(), input: { numberId: number.id, confirmE164: e164 } });
	});

	it('assign: ElevenLabs fails to set the agent → waits in syncing with the wanted agent, the retry sets it', async () => {
		const e164 = nextE164();
		const { number } = await buyAndAssign(e164);
		p.el.control.failNext(5, 500, { pathPrefix: '/v1/convai/phone-numbers/', method: 'PATCH' });
		const r = await assignNumber({ ctx: ctx(), input: { numberId: number.id, tenantId, agentId } });
		expect(r.advance.error).toMatch(/ElevenLabs/);
		expect(await row(number.id)).toMatchObject({ status: 'syncing', tenantId, agentId });
		expect([...p.el.state.phoneNumbers.values()].find((n) => n.phone_number === e164)!.agent_id).toBeNull();
		await advanceNumber({ db, actor: systemActor('job:numbers.resume') }, number.id);
		await expectProvisioned(number.id, e164, agentId);
		await releaseNumber({ ctx: ctx(), input: { numberId: number.id, confirmE164: e164 } });
		await expectGone(number.id, e164);
	});

	const releaseFaults = [
		{ name: 'ElevenLabs fails to unassign', inject: () => p.el.control.failNext(5, 500, { pathPrefix: '/v1/convai/phone-numbers/', method: 'PATCH' }) },
		{ name: 'ElevenLabs refuses the delete', inject: () => p.el.control.failNext(5, 500, { pathPrefix: '/v1/convai/phone-numbers/', method: 'DELETE' }) },
		{ name: 'Twilio refuses the release', inject: () => p.twilio.failNext({ count: 1, status: 500, method: 'DELETE' }) },
		{ name: 'Twilio releases but the answer is lost', inject: () => p.twilio.failNext({ count: 1, status: 500, method: 'DELETE', after: true }) }
	] as const;

	it('release: ElevenLabs deletes but the answer is lost → the client retries the DELETE, the 404 counts as done', async () => {
		const e164 = nextE164();
		const { number } = await buyAndAssign(e164);
		p.el.control.failNext(1, 500, { pathPrefix: '/v1/convai/phone-numbers/', method: 'DELETE', after: true });
		const r = await releaseNumber({ ctx: ctx(), input: { numberId: number.id, confirmE164: e164 } });
		expect(r.advance).toMatchObject({ status: 'released', error: null });
		await expectGone(number.id, e164);
	});

	it.each(releaseFaults)('release: $name → waits in releasing, the retry finishes it, no orphan', async ({ inject }) => {
		const e164 = nextE164();
		const { number } = await buyAndAssign(e164);
		await assignNumber({ ctx: ctx(), input: { numberId: number.id, tenantId, agentId } });
		inject();
		const r = await releaseNumber({ ctx: ctx(), input: { numberId: number.id, confirmE164: e164 } });
		expect(r.advance.error).not.toBeNull();
		expect((await row(number.id)).status).toBe('releasing');
		// While releasing, the reconcile job leaves the number to the lifecycle.
		expect(await driftFor(e164)).toEqual([]);
		const retried = await advanceNumber({ db, actor: systemActor('job:numbers.resume') }, number.id);
		expect(retried).toMatchObject({ status: 'released', error: null });
		await expectGone(number.id, e164);
	});
});

describe('tenant admins and the pool', () => {
	it('claim a pool number with their agent, see it as theirs, and give it back; other tenants cannot touch it', async () => {
		const createCaller = createCallerFactory(appRouter);
		const member = await createTestMember(db, tenantId, 'tenant_admin');
		const caller = createCaller((await signedInContext(db, member.id, { activeTenantId: tenantId })).ctx);
		const other = await createTestTenant(db);
		const otherAdmin = await createTestMember(db, other.id, 'tenant_admin');
		const otherCaller = createCaller((await signedInContext(db, otherAdmin.id, { activeTenantId: other.id })).ctx);
		const e164 = nextE164();
		const { number } = await buyAndAssign(e164);

		expect((await caller.tenantNumbers.list()).pool.map((n) => n.e164)).toContain(e164);
		const claimed = await caller.tenantNumbers.claim({ numberId: number.id, agentId });
		expect(claimed.number).toMatchObject({ tenantId, agentId, status: 'active' });
		await expectProvisioned(number.id, e164, agentId);
		const mine = await caller.tenantNumbers.list();
		expect(mine.mine.map((n) => n.e164)).toContain(e164);
		expect(mine.pool.map((n) => n.e164)).not.toContain(e164);

		// Another tenant sees nothing of it and cannot give it back or claim it.
		const theirs = await otherCaller.tenantNumbers.list();
		expect([...theirs.mine, ...theirs.pool].map((n) => n.e164)).not.toContain(e164);
		await expect(otherCaller.tenantNumbers.giveBack({ numberId: number.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
		await expect(otherCaller.tenantNumbers.claim({ numberId: number.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
		// An agent of another tenant cannot be put on it.
		await expect(caller.tenantNumbers.claim({ numberId: number.id, agentId: 'agent_unknown' })).rejects.toMatchObject({ code: 'NOT_FOUND' });

		await caller.tenantNumbers.giveBack({ numberId: number.id });
		expect(await row(number.id)).toMatchObject({ tenantId: null, agentId: null, status: 'active' });
		expect([...p.el.state.phoneNumbers.values()].find((n) => n.phone_number === e164)!.agent_id).toBeNull();
		await releaseNumber({ ctx: ctx(), input: { numberId: number.id, confirmE164: e164 } });
	});
});
