import { createElevenLabsClient } from '../../elevenlabs/client';
import { createManagementClient, type ManagementClient } from '../../elevenlabs/management';
import { toReadableUpstreamError } from '../../elevenlabs/readable-error';
import { DomainError } from '../../errors';
import { assertPlatformActor } from '../context';
import { systemActor, type ServiceCtx } from '../context';
import { openConnectionCredentials } from './index';

// The upstream workspace behind a connection, for the verbs that change it (agents, numbers, batch calls).

/** A management client for a connection's workspace. Never hand its credentials to a browser. */
export async function managementClientFor(ctx: ServiceCtx, connectionId: string): Promise<ManagementClient> {
	// Opened as the system: the credentials stay in this process, whoever (already authorised) is acting.
	const creds = await openConnectionCredentials({ ctx: { db: ctx.db, actor: systemActor('upstream') }, input: { connectionId } });
	if (!creds.enabled) throw new DomainError('CONFLICT', 'This connection is disabled; enable it first');
	return createManagementClient({ baseUrl: creds.baseUrl, apiKey: creds.apiKey });
}

export interface ConnectionCheck {
	ok: boolean;
	/** The workspace the key belongs to, as upstream names it. */
	workspace: string | null;
	userId: string | null;
	tier: string | null;
	agents: number | null;
	message: string;
}

/**
 * "Test connection": asks upstream who the key belongs to and counts its agents. A refused key or an unreachable
 * upstream is an answer (ok false with the reason), not an error.
 */
export async function testConnection({ ctx, input }: { ctx: ServiceCtx; input: { connectionId: string } }): Promise<ConnectionCheck> {
	assertPlatformActor(ctx.actor);
	const creds = await openConnectionCredentials({ ctx, input });
	const mgmt = createManagementClient({ baseUrl: creds.baseUrl, apiKey: creds.apiKey, maxRetries: 0, timeoutMs: 8_000 });
	const reader = createElevenLabsClient({ baseUrl: creds.baseUrl, apiKey: creds.apiKey, maxRetries: 0, timeoutMs: 8_000 });
	try {
		const account = await mgmt.getAccount();
		const { agents } = await reader.listAgents();
		const workspace = account.first_name ?? account.user_id;
		return {
			ok: true,
			workspace,
			userId: account.user_id,
			tier: account.subscription?.tier ?? null,
			agents: agents.length,
			message: `Connected to ${workspace}${account.subscription?.tier ? ` (${account.subscription.tier})` : ''}: ${agents.length} agents`
		};
	} catch (err) {
		const readable = toReadableUpstreamError(err, 'ElevenLabs', 'check the key');
		if (!(readable instanceof DomainError)) throw err;
		return { ok: false, workspace: null, userId: null, tier: null, agents: null, message: readable.message };
	} finally {
		await reader.close();
	}
}
