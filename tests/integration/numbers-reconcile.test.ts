import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { numberReconcileRun, phoneNumber } from '../../src/lib/server/db/schema/index';
import { systemActor } from '../../src/lib/server/services/context';
import { buyNumber } from '../../src/lib/server/services/numbers/index';
import { latestReconcileReport, reconcileNumbers } from '../../src/lib/server/services/numbers/reconcile';
import { startProviders, type Providers } from '../factories/numbers';
import { connectTestStores } from '../setup/stores';

// Drift made by hand on each side: the reconcile job reports every case and changes nothing by itself.

const stores = connectTestStores();
const db = stores.db.db;
const job = { db, actor: systemActor('job:numbers.reconcile') };
let p: Providers;

beforeAll(async () => {
	p = await startProviders(db);
});
afterAll(async () => {
	await p?.close();
	await stores.close();
});

it('reports a number deleted at Twilio, one deleted at ElevenLabs, one only in our rows and one only at Twilio; repairs none', async () => {
	const buy = (e164: string) => buyNumber({ ctx: job, input: { twilioAccountId: p.account.id, connectionId: p.connection.id, e164 } });
	const healthy = (await buy('+13125550101')).number;
	const goneAtTwilio = (await buy('+13125550102')).number;
	const goneAtElevenLabs = (await buy('+13125550103')).number;
	const clean = await reconcileNumbers({ ctx: job, input: { twilioAccountIds: [p.account.id] } });
	expect(clean).toMatchObject({ ok: true, checked: 3, drift: [], error: null });

	// By hand, behind the pool's back.
	const twilioSid = [...p.twilio.numbers.values()].find((n) => n.phone_number === goneAtTwilio.e164)!.sid;
	p.twilio.numbers.delete(twilioSid);
	const elId = [...p.el.state.phoneNumbers.values()].find((n) => n.phone_number === goneAtElevenLabs.e164)!.phone_number_id;
	p.el.state.phoneNumbers.delete(elId);
	const [onlyHere] = await db
		.insert(phoneNumber)
		.values({ e164: '+13125550104', country: 'US', status: 'active', twilioAccountId: p.account.id, connectionId: p.connection.id, twilioSid: `PN${'0'.repeat(32)}`, elevenlabsPhoneNumberId: 'phnum_ghost' })
		.returning();
	p.twilio.numbers.set(`PN${'a'.repeat(32)}`, { sid: `PN${'a'.repeat(32)}`, phone_number: '+13125550105', friendly_name: 'bought by hand', date_created: new Date().toUTCString(), voice_url: '', sms_url: '', status_callback: '' });

	const rowsBefore = await db.select().from(phoneNumber).where(eq(phoneNumber.twilioAccountId, p.account.id)).orderBy(phoneNumber.e164);
	const twilioBefore = p.atTwilio();
	const elBefore = p.atElevenLabs();

	const report = await reconcileNumbers({ ctx: job, input: { twilioAccountIds: [p.account.id] } });
	expect(report.ok).toBe(false);
	expect(report.error).toBeNull();
	const byNumber = Object.fromEntries(report.drift.map((d) => [d.e164, d.kind]));
	expect(byNumber).toEqual({
		[goneAtTwilio.e164]: 'missing_at_twilio',
		[goneAtElevenLabs.e164]: 'missing_at_elevenlabs',
		[onlyHere.e164]: 'only_in_database',
		'+13125550105': 'untracked_at_twilio'
	});
	expect(byNumber[healthy.e164]).toBeUndefined();
	expect(report.drift.find((d) => d.kind === 'missing_at_twilio')!.numberId).toBe(goneAtTwilio.id);

	// Nothing changed anywhere.
	expect(await db.select().from(phoneNumber).where(eq(phoneNumber.twilioAccountId, p.account.id)).orderBy(phoneNumber.e164)).toEqual(rowsBefore);
	expect(p.atTwilio()).toEqual(twilioBefore);
	expect(p.atElevenLabs()).toEqual(elBefore);

	// The admin page reads the stored report.
	const latest = await latestReconcileReport({ ctx: job });
	expect(latest!.ranAt.getTime()).toBeGreaterThanOrEqual(report.ranAt.getTime());
	await db.delete(numberReconcileRun).where(eq(numberReconcileRun.id, report.id));
});

it('an assignment changed by hand upstream is an agent mismatch', async () => {
	const n = (await buyNumber({ ctx: job, input: { twilioAccountId: p.account.id, connectionId: p.connection.id, e164: '+13125550106' } })).number;
	const upstream = [...p.el.state.phoneNumbers.values()].find((x) => x.phone_number === n.e164)!;
	upstream.agent_id = p.agentIds[0];
	const report = await reconcileNumbers({ ctx: job, input: { twilioAccountIds: [p.account.id] } });
	expect(report.drift.filter((d) => d.e164 === n.e164)).toEqual([expect.objectContaining({ kind: 'agent_mismatch' })]);
	expect(upstream.agent_id).toBe(p.agentIds[0]);
});
