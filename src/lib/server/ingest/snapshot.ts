import { decimalFromJsonNumber, roundDecimal } from '../../decimal';
import { MONEY_SCALE } from '../analytics/tables';
import type {
	CallInitiationFailureEvent,
	ConversationDetail,
	ConversationSummary,
	PostCallTranscriptionEvent
} from '../elevenlabs/types';

/**
 * What one observation (a webhook, a polled detail or list item) says about a conversation. `undefined` means
 * "this observation does not know"; merges keep the stored value for those fields.
 */
export interface ConversationSnapshot {
	connectionId: string;
	conversationId: string;
	agentId: string;
	agentName?: string | null;
	source: 'webhook' | 'poll';
	/** Upstream time of the observation: webhook event_timestamp, or when a poll fetched it. */
	observedAt: Date;
	/** Null for observations that carry no status (audio). */
	status: string | null;
	startedAt?: Date;
	durationSecs?: number;
	direction?: string;
	callResult?: string;
	callSuccessful?: string;
	terminationReason?: string;
	failureReason?: string;
	/** ElevenLabs credits as exact decimal text at scale 6 ("412.500000"), the text numeric(18, 6) hands back. */
	cost?: string;
	agentNumber?: string;
	externalNumber?: string;
	phoneNumberId?: string;
	callSid?: string;
	batchCallId?: string;
	title?: string;
	summary?: string;
	details?: Record<string, unknown>;
	hasAudio?: boolean;
	audioKey?: string;
}

const str = (v: string | null | undefined) => (v === null || v === undefined || v === '' ? undefined : v);
const num = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? undefined : v);
/** Upstream's cost (a JSON number) as decimal text at the stored scale, so an identical re-delivery compares equal. */
const creditsText = (v: number | null | undefined) => {
	const text = num(v) === undefined ? null : decimalFromJsonNumber(v as number);
	return text === null ? undefined : roundDecimal(text, MONEY_SCALE);
};
const unixToDate = (secs: number | null | undefined) => (num(secs) === undefined ? undefined : new Date((secs as number) * 1000));

/** From a full conversation (GET /v1/convai/conversations/{id}, or the data of post_call_transcription). */
export function snapshotFromConversationDetail(
	connectionId: string,
	d: ConversationDetail,
	o: { source: 'webhook' | 'poll'; observedAt: Date }
): ConversationSnapshot {
	const m = d.metadata;
	const phone = m.phone_call ?? undefined;
	const a = d.analysis ?? undefined;
	const error = m.error ?? undefined;
	return {
		connectionId,
		conversationId: d.conversation_id,
		agentId: d.agent_id,
		agentName: str(d.agent_name),
		source: o.source,
		observedAt: o.observedAt,
		status: d.status,
		startedAt: unixToDate(m.start_time_unix_secs),
		durationSecs: Math.max(0, Math.round(m.call_duration_secs)),
		direction: str(phone?.direction),
		callResult: str(phone?.call_result),
		callSuccessful: str(a?.call_successful),
		terminationReason: str(m.termination_reason),
		failureReason: str(error?.reason),
		cost: creditsText(m.cost),
		agentNumber: str(phone?.agent_number),
		externalNumber: str(phone?.external_number),
		phoneNumberId: str(phone?.phone_number_id),
		callSid: str(phone?.call_sid),
		batchCallId: str(m.batch_call?.batch_call_id),
		title: str(a?.call_summary_title),
		summary: str(a?.transcript_summary),
		details: {
			transcript: d.transcript ?? null,
			analysis: d.analysis ?? null,
			conversation_initiation_client_data: d.conversation_initiation_client_data ?? null,
			metadata: d.metadata,
			user_id: d.user_id ?? null
		},
		hasAudio: d.has_audio ?? undefined
	};
}

export function snapshotFromTranscriptionEvent(connectionId: string, e: PostCallTranscriptionEvent): ConversationSnapshot {
	return snapshotFromConversationDetail(connectionId, e.data, { source: 'webhook', observedAt: new Date(e.event_timestamp * 1000) });
}

/** A failed call initiation: final (failed) with no metadata; the event time stands in for the start time. */
export function snapshotFromInitiationFailure(connectionId: string, e: CallInitiationFailureEvent): ConversationSnapshot {
	const at = new Date(e.event_timestamp * 1000);
	return {
		connectionId,
		conversationId: e.data.conversation_id,
		agentId: e.data.agent_id,
		source: 'webhook',
		observedAt: at,
		status: 'failed',
		startedAt: at,
		durationSecs: 0,
		callSuccessful: 'failure',
		failureReason: str(e.data.failure_reason),
		callResult: e.data.failure_reason === 'no-answer' ? 'no_answer' : str(e.data.failure_reason)
	};
}

export function snapshotFromAudio(
	connectionId: string,
	e: { agentId: string; conversationId: string; eventTimestamp: number; audioKey: string }
): ConversationSnapshot {
	return {
		connectionId,
		conversationId: e.conversationId,
		agentId: e.agentId,
		source: 'webhook',
		observedAt: new Date(e.eventTimestamp * 1000),
		status: null,
		hasAudio: true,
		audioKey: e.audioKey
	};
}

/** From a list item (GET /v1/convai/conversations); carries no details, phone numbers or cost. */
export function snapshotFromConversationSummary(
	connectionId: string,
	s: ConversationSummary,
	o: { observedAt: Date }
): ConversationSnapshot {
	return {
		connectionId,
		conversationId: s.conversation_id,
		agentId: s.agent_id,
		agentName: str(s.agent_name),
		source: 'poll',
		observedAt: o.observedAt,
		status: s.status,
		startedAt: unixToDate(s.start_time_unix_secs),
		durationSecs: Math.max(0, Math.round(s.call_duration_secs)),
		direction: str(s.direction),
		callSuccessful: str(s.call_successful),
		title: str(s.call_summary_title),
		summary: str(s.transcript_summary)
	};
}
