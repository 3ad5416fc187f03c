import { randomBytes } from 'node:crypto';
import { eq, inArray } from 'drizzle-orm';
import { startElevenLabsEmulator, type ElevenLabsEmulator } from '../../src/emulators/elevenlabs/server';
import { startTwilioEmulator, type TwilioEmulator } from '../../src/emulators/twilio/server';
import type { DbOrTx } from '../../src/lib/server/db/client';
import { auditLog, elevenlabsAgent, phoneNumber, twilioAccount } from '../../src/lib/server/db/schema/index';
import { mapAgent } from '../../src/lib/server/services/agents/index';
import { saveTwilioAccount } from '../../src/lib/server/services/numbers/twilio-accounts';
import { createTestConnection, factoryActor } from './ingest';

/** Both provider emulators, a Twilio account row and an ElevenLabs connection pointing at them. */
export async function startProviders(db: DbOrTx, opts: { agents?: Array<{ agentId: string; name: string }>; tenantId?: string | null } = {}) {
	const accountSid = `AC${randomBytes(16).toString('hex')}`;
	const authToken = `tw_${randomBytes(12).toString('hex')}`;
	const apiKey = `sk_${randomBytes(12).toString('hex')}`;
	// Fresh seeds: ids and numbers the emulators draw must not repeat an earlier run's (the test database keeps them).
	const twilio: TwilioEmulator = await startTwilioEmulator({ accountSid, authToken, seed: randomBytes(4).readUInt32LE() });
	const el: ElevenLabsEmulator = await startElevenLabsEmulator({
		apiKey,
		seed: randomBytes(4).readUInt32LE(),
		agents: opts.agents ?? [{ agentId: `agent_${randomBytes(4).toString('hex')}`, name: 'Front desk' }],
		progression: { inProgressAfterMs: 50, processingAfterMs: 100, finalAfterMs: 150 }
	});
	// The emulator gives every agent a number of its own; the pool starts from an empty workspace.
	el.state.phoneNumbers.clear();
	const account = await saveTwilioAccount({ ctx: { db, actor: factoryActor }, input: { name: `Twilio ${accountSid.slice(-6)}`, accountSid, authToken, baseUrl: twilio.url } });
	const connection = await createTestConnection(db, { baseUrl: el.url, apiKey, tenantId: opts.tenantId ?? null });
	return {
		twilio,
		el,
		account,
		connection,
		agentIds: [...el.state.agents.keys()],
		/** Maps an emulator agent to a tenant, as an admin would. */
		async mapAgentToTenant(agentId: string, tenantId: string) {
			await mapAgent({ ctx: { db, actor: factoryActor }, input: { connectionId: connection.id, agentId, tenantId, name: el.state.agents.get(agentId)?.name ?? null } });
		},
		/** E.164 numbers the providers hold right now. */
		atTwilio: () => [...twilio.numbers.values()].map((n) => n.phone_number).sort(),
		atElevenLabs: () => [...el.state.phoneNumbers.values()].map((n) => n.phone_number).sort(),
		async close() {
			const ids = (await db.select({ id: phoneNumber.id }).from(phoneNumber).where(eq(phoneNumber.twilioAccountId, account.id))).map((r) => r.id);
			if (ids.length) await db.delete(auditLog).where(inArray(auditLog.targetId, ids));
			await db.delete(phoneNumber).where(eq(phoneNumber.twilioAccountId, account.id));
			await db.delete(twilioAccount).where(eq(twilioAccount.id, account.id));
			await db.delete(elevenlabsAgent).where(eq(elevenlabsAgent.connectionId, connection.id));
			await Promise.all([twilio.close(), el.close()]);
		}
	};
}
export type Providers = Awaited<ReturnType<typeof startProviders>>;
