import { and, eq, gte, inArray, isNotNull, lt } from 'drizzle-orm';
import { decimalFromJsonNumber, roundDecimal, addDecimals } from '../../../decimal';
import { isIsoMonth } from '../../../days';
import { conversation, elevenlabsAgent, elevenlabsConnection, tenant } from '../../db/schema/index';
import { createElevenLabsClient, type ElevenLabsClient } from '../../elevenlabs/client';
import { isFinalStatus } from '../../elevenlabs/types';
import { DomainError } from '../../errors';
import { readConnectionCredentials, type ConnectionCredentials } from '../../ingest/connections';
import { assertPlatformActor, type ServiceCtx } from '../context';
import { monthWindow } from './usage';

// Reconciliation: a tenant's month as stored (seconds and credits per conversation) against what upstream lists for
// the same window, through each connection the tenant's calls came from. Every difference is a finding naming its
// conversation; nothing is corrected here (a missing call is for the backfill, a changed one for the sync).

export type FindingKind = 'missing_in_store' | 'missing_upstream' | 'seconds_differ' | 'credits_differ';

export interface ReconcileFinding {
	kind: FindingKind;
	conversationId: string;
	connectionId: string;
	stored: { secs: number; credits: string } | null;
	upstream: { secs: number; credits: string | null } | null;
}

export interface ReconcileReport {
	tenantId: string;
	period: string;
	start: Date;
	end: Date;
	stored: { calls: number; secs: number; credits: string };
	upstream: { calls: number; secs: number; credits: string };
	findings: ReconcileFinding[];
	/** Connections upstream did not answer for: their calls are not judged (a finding of its own). */
	errors: { connectionId: string; message: string }[];
	/** Credits are compared from each conversation's detail; beyond this many details per connection they are not. */
	creditsCheckedUpTo: number;
}

type ClientFor = (creds: ConnectionCredentials) => ElevenLabsClient;
const defaultClientFor: ClientFor = (creds) => createElevenLabsClient({ baseUrl: creds.baseUrl, apiKey: creds.apiKey, maxConcurrency: 4, maxRetries: 2 });

const credits = (v: number | null | undefined) => {
	const t = typeof v === 'number' ? decimalFromJsonNumber(v) : null;
	return t === null ? '0.000000' : roundDecimal(t, 6);
};

export async function reconcileTenantMonth({
	ctx,
	input,
	deps = {}
}: {
	ctx: ServiceCtx;
	input: { tenantId: string; period: string; maxDetails?: number };
	deps?: { clientFor?: ClientFor };
}): Promise<ReconcileReport> {
	assertPlatformActor(ctx.actor);
	if (!isIsoMonth(input.period)) throw new DomainError('BAD_INPUT', 'Choose a month as YYYY-MM');
	const [t] = await ctx.db.select({ id: tenant.id, timezone: tenant.timezone }).from(tenant).where(eq(tenant.id, input.tenantId));
	if (!t) throw new DomainError('NOT_FOUND', 'Tenant not found');
	const { start, end } = monthWindow(input.period, t.timezone);
	const maxDetails = input.maxDetails ?? 5000;
	const clientFor = deps.clientFor ?? defaultClientFor;

	const stored = await ctx.db
		.select({ conversationId: conversation.conversationId, connectionId: conversation.connectionId, durationSecs: conversation.durationSecs, cost: conversation.cost, status: conversation.status })
		.from(conversation)
		.where(and(eq(conversation.tenantId, t.id), isNotNull(conversation.status), gte(conversation.startedAt, start), lt(conversation.startedAt, end), inArray(conversation.status, ['done', 'failed'])));
	const storedById = new Map(stored.map((s) => [s.conversationId, s]));
	const ownConnections = await ctx.db.select({ id: elevenlabsConnection.id }).from(elevenlabsConnection).where(eq(elevenlabsConnection.tenantId, t.id));
	const connectionIds = [...new Set([...stored.map((s) => s.connectionId), ...ownConnections.map((c) => c.id)])];
	const mapped = connectionIds.length
		? await ctx.db
				.select({ connectionId: elevenlabsAgent.connectionId, agentId: elevenlabsAgent.agentId })
				.from(elevenlabsAgent)
				.where(and(inArray(elevenlabsAgent.connectionId, connectionIds), eq(elevenlabsAgent.tenantId, t.id)))
		: [];
	const mappedKeys = new Set(mapped.map((m) => `${m.connectionId}\u0000${m.agentId}`));
	const own = new Set(ownConnections.map((c) => c.id));

	const findings: ReconcileFinding[] = [];
	const errors: ReconcileReport['errors'] = [];
	const upstreamSeen = new Set<string>();
	const answered = new Set<string>();
	let upCalls = 0;
	let upSecs = 0;
	const upCredits: string[] = [];
	for (const connectionId of connectionIds) {
		let client: ElevenLabsClient | undefined;
		try {
			client = clientFor(await readConnectionCredentials({ ctx, input: { connectionId } }));
			const listed = [];
			for await (const c of client.iterateConversations({ callStartAfterUnix: start.getTime() / 1000 - 1, callStartBeforeUnix: end.getTime() / 1000 + 1 })) {
				const at = c.start_time_unix_secs * 1000;
				if (at < start.getTime() || at >= end.getTime() || !isFinalStatus(c.status)) continue;
				const ours = own.has(connectionId) || mappedKeys.has(`${connectionId}\u0000${c.agent_id}`) || storedById.has(c.conversation_id);
				if (ours) listed.push(c);
			}
			let details = 0;
			for (const c of listed) {
				upstreamSeen.add(c.conversation_id);
				const secs = Math.max(0, Math.round(c.call_duration_secs));
				let upCredit: string | null = null;
				if (details < maxDetails) {
					details++;
					upCredit = credits((await client.getConversation(c.conversation_id)).conversation.metadata.cost);
				}
				upCalls++;
				upSecs += secs;
				if (upCredit) upCredits.push(upCredit);
				const s = storedById.get(c.conversation_id);
				const storedView = s ? { secs: s.durationSecs, credits: s.cost ?? '0.000000' } : null;
				const upstreamView = { secs, credits: upCredit };
				if (!s) findings.push({ kind: 'missing_in_store', conversationId: c.conversation_id, connectionId, stored: null, upstream: upstreamView });
				else {
					if (s.durationSecs !== secs) findings.push({ kind: 'seconds_differ', conversationId: c.conversation_id, connectionId, stored: storedView, upstream: upstreamView });
					if (upCredit !== null && roundDecimal(s.cost ?? '0', 6) !== upCredit) findings.push({ kind: 'credits_differ', conversationId: c.conversation_id, connectionId, stored: storedView, upstream: upstreamView });
				}
			}
			answered.add(connectionId);
		} catch (err) {
			errors.push({ connectionId, message: err instanceof Error ? err.message : String(err) });
		} finally {
			await client?.close();
		}
	}
	for (const s of stored) {
		if (answered.has(s.connectionId) && !upstreamSeen.has(s.conversationId)) {
			findings.push({ kind: 'missing_upstream', conversationId: s.conversationId, connectionId: s.connectionId, stored: { secs: s.durationSecs, credits: s.cost ?? '0.000000' }, upstream: null });
		}
	}
	return {
		tenantId: t.id,
		period: input.period,
		start,
		end,
		stored: { calls: stored.length, secs: stored.reduce((n, s) => n + s.durationSecs, 0), credits: addDecimals(stored.map((s) => s.cost ?? '0'), 6) },
		upstream: { calls: upCalls, secs: upSecs, credits: addDecimals(upCredits, 6) },
		findings: findings.sort((a, b) => a.kind.localeCompare(b.kind) || a.conversationId.localeCompare(b.conversationId)),
		errors,
		creditsCheckedUpTo: maxDetails
	};
}
