import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createDb } from '../../db/client';
import { env } from '../../env';
import { mapAgent } from '../agents/index';
import { createConnection, listConnections, openConnectionCredentials, updateConnection } from '../connections/index';
import { systemActor, type ServiceCtx } from '../context';
import { listTwilioAccounts, saveTwilioAccount } from '../numbers/twilio-accounts';
import { seedDemoCampaigns } from './campaigns';
import { seedDemo } from './seed';

// What `npm start` needs to run the product against the emulators: the demo tenants and users, an ElevenLabs
// connection whose upstream is the local emulator, and agents mapped to tenants (one left unmapped, so the
// quarantine has something to show). Idempotent: a second start reuses the same connection and secrets.
export const DEMO_CONNECTION_NAME = 'Demo workspace (local emulator)';

export const DEMO_AGENTS = [
	{ agentId: 'agent_acme_frontdesk', name: 'Acme front desk', tenant: 'acme', numbers: ['+12125550142', '+12125550143'] },
	{ agentId: 'agent_acme_afterhours', name: 'Acme after hours', tenant: 'acme', numbers: ['+12125550199'] },
	{ agentId: 'agent_birch_leasing', name: 'Birch leasing line', tenant: 'birch', numbers: ['+13125550110'] },
	{ agentId: 'agent_unmapped_trial', name: 'Trial agent (unmapped)', tenant: null, numbers: ['+14155550177'] }
] as const;

export interface DemoProduct {
	connectionId: string;
	apiKey: string;
	webhookSecret: string;
	webhookUrl: string;
	/** ELEVENLABS_EMULATOR_AGENTS format: agent=+1…|+1…,agent2=… */
	emulatorAgents: string;
	twilioAccountSid: string;
	twilioAuthToken: string;
	signIns: { email: string; password: string; what: string }[];
}

export async function seedDemoProduct(opts: {
	emulatorBaseUrl: string;
	origin: string;
	/** The emulator's callers for an agent spec (ELEVENLABS_EMULATOR_AGENTS format), in the order it will call. */
	emulatorCallers?: (agents: string) => { externalNumber: string; agentId: string }[];
}): Promise<DemoProduct> {
	const handle = createDb(env().DATABASE_URL, { max: 4, applicationName: 'voxcalls-demo-seed' });
	try {
		const db = handle.db;
		const ctx: ServiceCtx = { db, actor: systemActor('demo-seed') };
		const seeded = await seedDemo({ db });

		let connection = (await listConnections({ ctx })).find((c) => c.name === DEMO_CONNECTION_NAME);
		if (!connection) {
			connection = await createConnection({
				ctx,
				input: {
					name: DEMO_CONNECTION_NAME,
					baseUrl: opts.emulatorBaseUrl,
					apiKey: `xi_demo_${randomBytes(12).toString('hex')}`,
					webhookSecret: `wsec_${randomBytes(24).toString('hex')}`
				}
			});
		} else if (connection.baseUrl !== opts.emulatorBaseUrl.replace(/\/$/, '')) {
			connection = await updateConnection({ ctx, input: { connectionId: connection.id, baseUrl: opts.emulatorBaseUrl } });
		}
		const creds = await openConnectionCredentials({ ctx, input: { connectionId: connection.id } });

		for (const a of DEMO_AGENTS) {
			await mapAgent({
				ctx,
				input: { connectionId: connection.id, agentId: a.agentId, name: a.name, tenantId: a.tenant ? seeded.tenants[a.tenant] : null }
			});
		}

		// The number pool buys from the Twilio emulator `npm start` runs (base URL: env TWILIO_BASE_URL).
		const twilioAccountSid = 'AC' + 'de'.repeat(16);
		const twilioAuthToken = 'demo-twilio-token';
		if (!(await listTwilioAccounts({ ctx })).some((a) => a.accountSid === twilioAccountSid)) {
			await saveTwilioAccount({ ctx, input: { name: 'Demo Twilio', accountSid: twilioAccountSid, authToken: twilioAuthToken } });
		}

		const emulatorAgents = DEMO_AGENTS.map((a) => `${a.agentId}=${a.numbers.join('|')}`).join(',');
		// Acme's campaigns get some of the numbers that will call Acme's agents, so attribution has matches.
		const acmeAgents = new Set<string>(DEMO_AGENTS.filter((a) => a.tenant === 'acme').map((a) => a.agentId));
		const callers = (opts.emulatorCallers?.(emulatorAgents) ?? []).filter((c) => acmeAgents.has(c.agentId)).map((c) => c.externalNumber);
		await seedDemoCampaigns({ db: handle, tenantSlug: 'acme', storageDir: resolve(env().UPLOAD_STORAGE_DIR), callerNumbers: [...new Set(callers)] });

		return {
			connectionId: connection.id,
			apiKey: creds.apiKey,
			webhookSecret: creds.webhookSecret,
			webhookUrl: `${opts.origin.replace(/\/$/, '')}${connection.webhookPath}`,
			emulatorAgents,
			twilioAccountSid,
			twilioAuthToken,
			signIns: seeded.users.map((u) => ({ email: u.email, password: u.password, what: u.role }))
		};
	} finally {
		await handle.close();
	}
}
