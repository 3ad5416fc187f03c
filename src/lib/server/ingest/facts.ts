// The ClickHouse side of a conversation: the row `call_events` holds for one version of it (a "fact"), and the
// retraction that cancels it when a newer version replaces it. Both have deterministic event ids, so a relay
// that re-sends a batch sends byte-identical rows with identical ids. The table and its row schema: analytics/tables.ts.

import type { CallEventRow } from '../analytics/tables';

export type { CallEventRow };

export function factEventId(conversationId: string, version: number): string {
	return `${conversationId}:${version}:fact`;
}

export function retractionEventId(conversationId: string, version: number): string {
	return `${conversationId}:${version}:retract`;
}

/** DateTime text for ClickHouse, whole seconds, UTC. */
export function chDateTime(d: Date): string {
	return d.toISOString().slice(0, 19).replace('T', ' ');
}

export interface FactSource {
	conversationId: string;
	connectionId: string;
	agentId: string;
	tenantId: string;
	version: number;
	status: string;
	startedAt: Date;
	durationSecs: number;
	callSuccessful: string | null;
	direction: string | null;
	callResult: string | null;
	cost: number | null;
	hasAudio: boolean;
	batchCallId: string | null;
	agentNumber: string | null;
}

export function projectFact(c: FactSource, emittedAt: Date): CallEventRow {
	return {
		event_id: factEventId(c.conversationId, c.version),
		tenant_id: c.tenantId,
		connection_id: c.connectionId,
		conversation_id: c.conversationId,
		agent_id: c.agentId,
		version: c.version,
		sign: 1,
		started_at: chDateTime(c.startedAt),
		duration_secs: Math.max(0, Math.round(c.durationSecs)),
		status: c.status,
		call_successful: c.callSuccessful ?? '',
		direction: c.direction ?? '',
		call_result: c.callResult ?? '',
		cost: c.cost ?? 0,
		has_audio: c.hasAudio ? 1 : 0,
		batch_call_id: c.batchCallId ?? '',
		agent_number: c.agentNumber ?? '',
		emitted_at: chDateTime(emittedAt)
	};
}

/** The exact negative of a fact: same tenant, time bucket and measures, so every sum over `sign` cancels it. */
export function retractFact(fact: CallEventRow, emittedAt: Date): CallEventRow {
	return { ...fact, event_id: retractionEventId(fact.conversation_id, fact.version), sign: -1, emitted_at: chDateTime(emittedAt) };
}
