import { randomUUID } from 'node:crypto';
import type { conversation } from '../db/schema/ingest';
import { statusRank } from '../elevenlabs/types';
import { projectFact, retractFact, type CallEventRow } from './facts';
import type { ConversationSnapshot } from './snapshot';

// Pure merge rules for one conversation row. The database side (locking, batching, writing) is in upsert.ts.

export type ConversationRow = typeof conversation.$inferSelect;

/** Fields an accepted snapshot may set; `undefined` in a snapshot keeps the stored value. */
const SNAPSHOT_FIELDS = [
	'startedAt',
	'durationSecs',
	'direction',
	'callResult',
	'callSuccessful',
	'terminationReason',
	'failureReason',
	'cost',
	'agentNumber',
	'externalNumber',
	'phoneNumberId',
	'callSid',
	'batchCallId',
	'title',
	'summary',
	'details',
	'hasAudio'
] as const satisfies readonly (keyof ConversationSnapshot & keyof ConversationRow)[];

/** What makes two rows "the same" for the version counter: everything but bookkeeping. */
const COMPARED_FIELDS = [...SNAPSHOT_FIELDS, 'status', 'statusRank', 'audioKey', 'tenantId'] as const;

/** JSON with sorted keys: jsonb hands objects back with its own key order. */
export function canonicalJson(v: unknown): string {
	if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
	if (v instanceof Date) return JSON.stringify(v.toISOString());
	if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
	const o = v as Record<string, unknown>;
	return `{${Object.keys(o)
		.filter((k) => o[k] !== undefined)
		.sort()
		.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
		.join(',')}}`;
}

function same(a: unknown, b: unknown): boolean {
	if (a === b) return true;
	if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
	if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
	return canonicalJson(a) === canonicalJson(b);
}

export function rowsDiffer(a: ConversationRow, b: ConversationRow): boolean {
	return COMPARED_FIELDS.some((f) => !same(a[f], b[f]));
}

/** A row for a conversation seen for the first time, before the snapshot is applied. */
export function blankConversationRow(snap: ConversationSnapshot, now: Date): ConversationRow {
	return {
		id: randomUUID(),
		conversationId: snap.conversationId,
		connectionId: snap.connectionId,
		agentId: snap.agentId,
		tenantId: null,
		quarantinedAt: null,
		status: null,
		statusRank: -1,
		version: 0,
		startedAt: null,
		durationSecs: 0,
		direction: null,
		callResult: null,
		callSuccessful: null,
		terminationReason: null,
		failureReason: null,
		cost: null,
		agentNumber: null,
		externalNumber: null,
		phoneNumberId: null,
		callSid: null,
		batchCallId: null,
		title: null,
		summary: null,
		details: null,
		hasAudio: false,
		audioKey: null,
		observedAt: null,
		source: snap.source,
		emittedVersion: null,
		emittedFact: null,
		createdAt: now,
		updatedAt: now
	};
}

/**
 * Applies a snapshot to a row (returns a new row; never mutates). Status only moves forward: a snapshot of a lower
 * rank is ignored, one of the same rank applies only if it is at least as recent as the stored one. Audio is
 * additive and applies whatever the status.
 */
export function applySnapshot(row: ConversationRow, snap: ConversationSnapshot): ConversationRow {
	const next: ConversationRow = { ...row };
	if (snap.status !== null) {
		const rank = statusRank(snap.status);
		const accept = rank > row.statusRank || (rank === row.statusRank && (row.observedAt === null || snap.observedAt >= row.observedAt));
		if (accept) {
			next.status = snap.status;
			next.statusRank = rank;
			next.observedAt = snap.observedAt;
			next.source = snap.source;
			for (const f of SNAPSHOT_FIELDS) {
				const v = snap[f];
				if (v !== undefined) (next as Record<string, unknown>)[f] = v;
			}
		}
	}
	if (snap.audioKey !== undefined) {
		next.audioKey = snap.audioKey;
		next.hasAudio = true;
	}
	return next;
}

/**
 * Finishes a changed row: bumps the version and, when the row can be counted (tenant, start time and status
 * known), returns the retraction of the fact live in ClickHouse (if any) and the fact for the new version.
 */
export function finishChange(row: ConversationRow, now: Date): { row: ConversationRow; events: CallEventRow[] } {
	const next: ConversationRow = { ...row, version: row.version + 1, updatedAt: now };
	if (next.tenantId === null || next.startedAt === null || next.status === null) return { row: next, events: [] };
	const events: CallEventRow[] = [];
	if (next.emittedFact) events.push(retractFact(next.emittedFact as CallEventRow, now));
	const fact = projectFact(
		{
			conversationId: next.conversationId,
			connectionId: next.connectionId,
			agentId: next.agentId,
			tenantId: next.tenantId,
			version: next.version,
			status: next.status,
			startedAt: next.startedAt,
			durationSecs: next.durationSecs,
			callSuccessful: next.callSuccessful,
			direction: next.direction,
			callResult: next.callResult,
			cost: next.cost,
			hasAudio: next.hasAudio,
			batchCallId: next.batchCallId,
			agentNumber: next.agentNumber
		},
		now
	);
	events.push(fact);
	next.emittedVersion = next.version;
	next.emittedFact = fact;
	return { row: next, events };
}
