import { DomainError } from '../errors';
import { recordUpstreamAgents } from './agents';
import { readConnectionCredentials } from './connections';
import { clientForConnection, emptySyncCounts, importConversationWindow, type SyncCounts, type SyncCtx } from './sync';

// Imports a connection's history for a date range (`npm run backfill`), through the sync's page import: one
// listing request per 100 conversations, details only for those not stored final, the webhooks' write path.
// Re-running a range is cheap and changes nothing that is already final.

export interface BackfillProgress {
	window: { from: Date; to: Date };
	windowsDone: number;
	windowsTotal: number;
	/** Running totals over the whole backfill. */
	counts: SyncCounts;
	requests: number;
	elapsedMs: number;
}

export interface BackfillResult {
	counts: SyncCounts;
	requests: number;
	agents: number;
	elapsedMs: number;
}

const unix = (d: Date) => Math.floor(d.getTime() / 1000);

/**
 * Imports every conversation that started in [from, to), in windows oldest first, reporting after each. Leaves
 * the polling watermark alone. An upstream failure throws (after the client's retries); the windows reported
 * before it are committed, so the range can be resumed from the failed window's start.
 */
export async function backfillConnection({
	ctx,
	input
}: {
	ctx: SyncCtx;
	input: { connectionId: string; from: Date; to: Date; windowSecs?: number; onProgress?: (p: BackfillProgress) => void };
}): Promise<BackfillResult> {
	const started = Date.now();
	const creds = await readConnectionCredentials({ ctx, input: { connectionId: input.connectionId } });
	if (!creds.enabled) throw new DomainError('CONFLICT', 'The connection is disabled; enable it before backfilling');
	const fromSecs = unix(input.from);
	const toSecs = unix(input.to);
	if (!(toSecs > fromSecs)) throw new DomainError('BAD_INPUT', '`to` must be after `from`');
	const windowSecs = Math.max(60, Math.floor(input.windowSecs ?? 24 * 3600));
	const { client, owned } = clientForConnection(ctx, creds);
	const requestsBefore = client.stats.requests;
	const counts = emptySyncCounts();
	try {
		// Agents first, named, so they can be mapped to tenants while the history streams in.
		const { agents } = await client.listAgents();
		await recordUpstreamAgents({ ctx, input: { connectionId: creds.id, agents: agents.map((a) => ({ agentId: a.agent_id, name: a.name ?? null })) } });
		const windowsTotal = Math.ceil((toSecs - fromSecs) / windowSecs);
		let windowsDone = 0;
		for (let from = fromSecs; from < toSecs; from += windowSecs) {
			const to = Math.min(toSecs, from + windowSecs);
			await importConversationWindow(ctx, client, creds.id, { fromSecs: from, toSecs: to, holdSinceSecs: null }, counts, () => false);
			windowsDone++;
			input.onProgress?.({
				window: { from: new Date(from * 1000), to: new Date(to * 1000) },
				windowsDone,
				windowsTotal,
				counts: { ...counts },
				requests: client.stats.requests - requestsBefore,
				elapsedMs: Date.now() - started
			});
		}
		return { counts, requests: client.stats.requests - requestsBefore, agents: agents.length, elapsedMs: Date.now() - started };
	} finally {
		if (owned) await client.close();
	}
}
