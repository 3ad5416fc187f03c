import { z } from 'zod';

// Upstream adds fields and enum values often (the SDK parses with passthrough and unknown enums allowed), so
// every object here is loose, enums are plain strings, and only what our code cannot work without is required.

export const KNOWN_CONVERSATION_STATUSES = ['initiated', 'in-progress', 'processing', 'done', 'failed'] as const;
export type KnownConversationStatus = (typeof KNOWN_CONVERSATION_STATUSES)[number];

/**
 * Progress order of a conversation. `failed` ranks with `done`: both are final, so a late `processing`
 * snapshot must never overwrite either of them.
 */
export const CONVERSATION_STATUS_ORDER: Readonly<Record<KnownConversationStatus, number>> = Object.freeze({
	initiated: 0,
	'in-progress': 1,
	processing: 2,
	done: 3,
	failed: 3
});

/** Rank of a status for monotonic upserts; unknown statuses rank below everything so they never win. */
export function statusRank(status: string | null | undefined): number {
	if (!status) return -1;
	return (CONVERSATION_STATUS_ORDER as Record<string, number>)[status] ?? -1;
}

export function isFinalStatus(status: string | null | undefined): boolean {
	return statusRank(status) === CONVERSATION_STATUS_ORDER.done;
}

const nullishString = z.string().nullish();
const nullishNumber = z.number().nullish();

export const twilioPhoneCallSchema = z.looseObject({
	type: z.string(),
	direction: nullishString,
	phone_number_id: nullishString,
	agent_number: nullishString,
	external_number: nullishString,
	call_sid: nullishString,
	stream_sid: nullishString,
	call_result: nullishString
});
export type PhoneCall = z.infer<typeof twilioPhoneCallSchema>;

export const batchCallMetadataSchema = z.looseObject({
	batch_call_id: z.string(),
	batch_call_recipient_id: nullishString,
	campaign: z
		.looseObject({
			campaign_id: nullishString,
			campaign_lead_id: nullishString
		})
		.nullish()
});
export type BatchCallMetadata = z.infer<typeof batchCallMetadataSchema>;

export const conversationMetadataSchema = z.looseObject({
	start_time_unix_secs: z.number(),
	call_duration_secs: z.number(),
	accepted_time_unix_secs: nullishNumber,
	cost: nullishNumber,
	termination_reason: nullishString,
	main_language: nullishString,
	conversation_initiation_source: nullishString,
	phone_call: twilioPhoneCallSchema.nullish(),
	batch_call: batchCallMetadataSchema.nullish(),
	error: z.looseObject({ code: z.union([z.number(), z.string()]).nullish(), reason: nullishString }).nullish()
});
export type ConversationMetadata = z.infer<typeof conversationMetadataSchema>;

export const evaluationCriteriaResultSchema = z.looseObject({
	criteria_id: nullishString,
	result: nullishString,
	rationale: nullishString
});

export const dataCollectionResultSchema = z.looseObject({
	data_collection_id: nullishString,
	value: z.unknown().optional(),
	rationale: nullishString
});

export const conversationAnalysisSchema = z.looseObject({
	call_successful: nullishString,
	transcript_summary: nullishString,
	call_summary_title: nullishString,
	evaluation_criteria_results: z.record(z.string(), evaluationCriteriaResultSchema).nullish(),
	data_collection_results: z.record(z.string(), dataCollectionResultSchema).nullish()
});
export type ConversationAnalysis = z.infer<typeof conversationAnalysisSchema>;

// Dynamic variable values are string|number|bool|null upstream; `unknown` keeps us tolerant of new kinds.
export const initiationClientDataSchema = z.looseObject({
	dynamic_variables: z.record(z.string(), z.unknown()).nullish(),
	user_id: nullishString
});
export type InitiationClientData = z.infer<typeof initiationClientDataSchema>;

export const transcriptTurnSchema = z.looseObject({
	role: z.string(),
	message: nullishString,
	time_in_call_secs: nullishNumber
});
export type TranscriptTurn = z.infer<typeof transcriptTurnSchema>;

export const conversationSummarySchema = z.looseObject({
	conversation_id: z.string(),
	agent_id: z.string(),
	status: z.string(),
	start_time_unix_secs: z.number(),
	call_duration_secs: z.number(),
	agent_name: nullishString,
	message_count: nullishNumber,
	call_successful: nullishString,
	transcript_summary: nullishString,
	call_summary_title: nullishString,
	direction: nullishString
});
export type ConversationSummary = z.infer<typeof conversationSummarySchema>;

export const conversationsPageSchema = z.looseObject({
	conversations: z.array(conversationSummarySchema),
	next_cursor: nullishString,
	has_more: z.boolean()
});
export type ConversationsPage = z.infer<typeof conversationsPageSchema>;

export const conversationDetailSchema = z.looseObject({
	conversation_id: z.string(),
	agent_id: z.string(),
	status: z.string(),
	metadata: conversationMetadataSchema,
	agent_name: nullishString,
	user_id: nullishString,
	transcript: z.array(transcriptTurnSchema).nullish(),
	analysis: conversationAnalysisSchema.nullish(),
	conversation_initiation_client_data: initiationClientDataSchema.nullish(),
	has_audio: z.boolean().nullish(),
	has_user_audio: z.boolean().nullish(),
	has_response_audio: z.boolean().nullish()
});
export type ConversationDetail = z.infer<typeof conversationDetailSchema>;

export const agentSummarySchema = z.looseObject({
	agent_id: z.string(),
	name: nullishString,
	created_at_unix_secs: nullishNumber,
	tags: z.array(z.string()).nullish()
});
export type AgentSummary = z.infer<typeof agentSummarySchema>;

export const agentsPageSchema = z.looseObject({
	agents: z.array(agentSummarySchema),
	next_cursor: nullishString,
	has_more: z.boolean().nullish()
});
export type AgentsPage = z.infer<typeof agentsPageSchema>;

export const postCallTranscriptionEventSchema = z.looseObject({
	type: z.literal('post_call_transcription'),
	event_timestamp: z.number(),
	data: conversationDetailSchema
});

export const postCallAudioEventSchema = z.looseObject({
	type: z.literal('post_call_audio'),
	event_timestamp: z.number(),
	data: z.looseObject({
		agent_id: z.string(),
		conversation_id: z.string(),
		full_audio: z.string()
	})
});

// Field-level shape is third-party knowledge only (see the reference), hence everything but the ids is optional.
export const callInitiationFailureEventSchema = z.looseObject({
	type: z.literal('call_initiation_failure'),
	event_timestamp: z.number(),
	data: z.looseObject({
		agent_id: z.string(),
		conversation_id: z.string(),
		failure_reason: nullishString,
		metadata: z
			.looseObject({
				type: nullishString,
				body: z.record(z.string(), z.unknown()).nullish()
			})
			.nullish()
	})
});

export const webhookEventSchema = z.discriminatedUnion('type', [
	postCallTranscriptionEventSchema,
	postCallAudioEventSchema,
	callInitiationFailureEventSchema
]);
export type WebhookEvent = z.infer<typeof webhookEventSchema>;
export type PostCallTranscriptionEvent = z.infer<typeof postCallTranscriptionEventSchema>;
export type PostCallAudioEvent = z.infer<typeof postCallAudioEventSchema>;
export type CallInitiationFailureEvent = z.infer<typeof callInitiationFailureEventSchema>;

export const WEBHOOK_EVENT_TYPES = ['post_call_transcription', 'post_call_audio', 'call_initiation_failure'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
