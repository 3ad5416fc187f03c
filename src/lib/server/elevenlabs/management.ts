import { request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { parseRetryAfter, UpstreamError } from './client';

// Writes to the upstream workspace (agents, phone numbers, batch calls, the account check), separate from the
// read-heavy ingestion client: fewer calls, no shared pool, and a different retry rule. A request that may
// already have taken effect (a POST that creates something, answered 5xx or cut off) is NOT retried here: the
// caller's state machine looks the thing up before creating it again. 429 is always safe to retry (refused
// before any effect); 5xx and network errors are retried only for GET, PATCH and DELETE.

const BODY_SNIPPET_CHARS = 500;

export interface ManagementClientOptions {
	baseUrl: string;
	apiKey: string;
	timeoutMs?: number;
	maxRetries?: number;
	retryBaseMs?: number;
	retryMaxMs?: number;
	dispatcher?: Dispatcher;
}

// ------------------------------------------------------------------------------------------------ wire types
// Loose like types.ts: upstream adds fields often; only what our code reads is required.

const nullishString = z.string().nullish();

export const agentDetailSchema = z.looseObject({
	agent_id: z.string(),
	name: nullishString,
	conversation_config: z.looseObject({
		agent: z
			.looseObject({
				first_message: nullishString,
				language: nullishString,
				prompt: z.looseObject({ prompt: nullishString, llm: nullishString, temperature: z.number().nullish() }).nullish()
			})
			.nullish(),
		tts: z.looseObject({ voice_id: nullishString, model_id: nullishString }).nullish()
	}),
	platform_settings: z
		.looseObject({
			data_collection: z.record(z.string(), z.looseObject({ type: z.string(), description: nullishString })).nullish(),
			evaluation: z
				.looseObject({
					criteria: z.array(z.looseObject({ id: z.string(), name: nullishString, conversation_goal_prompt: nullishString })).nullish()
				})
				.nullish()
		})
		.nullish(),
	tags: z.array(z.string()).nullish(),
	metadata: z.looseObject({ created_at_unix_secs: z.number().nullish(), updated_at_unix_secs: z.number().nullish() }).nullish()
});
export type AgentDetail = z.infer<typeof agentDetailSchema>;

const agentIdSchema = z.looseObject({ agent_id: z.string() });

export const upstreamPhoneNumberSchema = z.looseObject({
	phone_number_id: z.string(),
	phone_number: z.string(),
	label: nullishString,
	provider: nullishString,
	assigned_agent: z.looseObject({ agent_id: z.string(), agent_name: nullishString }).nullish()
});
export type UpstreamPhoneNumber = z.infer<typeof upstreamPhoneNumberSchema>;

export const batchCallSchema = z.looseObject({
	id: z.string(),
	name: nullishString,
	agent_id: z.string(),
	phone_number_id: nullishString,
	status: z.string(),
	created_at_unix: z.number().nullish(),
	scheduled_time_unix: z.number().nullish(),
	total_calls_dispatched: z.number().nullish(),
	total_calls_scheduled: z.number().nullish(),
	total_calls_finished: z.number().nullish(),
	retry_count: z.number().nullish()
});
export type BatchCall = z.infer<typeof batchCallSchema>;

export const batchRecipientSchema = z.looseObject({
	id: z.string(),
	phone_number: nullishString,
	status: z.string(),
	conversation_id: nullishString,
	updated_at_unix: z.number().nullish()
});
export type BatchRecipient = z.infer<typeof batchRecipientSchema>;
export const batchCallDetailSchema = batchCallSchema.extend({ recipients: z.array(batchRecipientSchema) });
export type BatchCallDetail = z.infer<typeof batchCallDetailSchema>;

export const accountSchema = z.looseObject({
	user_id: z.string(),
	first_name: nullishString,
	subscription: z.looseObject({ tier: nullishString, status: nullishString }).nullish()
});
export type UpstreamAccount = z.infer<typeof accountSchema>;

// ------------------------------------------------------------------------------------------------ inputs

export interface AgentWrite {
	name?: string;
	conversation_config?: Record<string, unknown>;
	platform_settings?: Record<string, unknown>;
	tags?: string[];
}

export interface ImportTwilioNumberInput {
	phoneNumber: string;
	label: string;
	accountSid: string;
	authToken: string;
	agentId?: string | null;
}

export interface SubmitBatchInput {
	callName: string;
	agentId: string;
	phoneNumberId: string;
	recipients: Array<{ id?: string; phoneNumber: string; dynamicVariables?: Record<string, string | number | boolean> }>;
	scheduledTimeUnix?: number | null;
	timezone?: string | null;
}

export interface ManagementClient {
	getAccount(): Promise<UpstreamAccount>;
	getAgent(agentId: string): Promise<AgentDetail>;
	createAgent(input: AgentWrite): Promise<{ agentId: string }>;
	updateAgent(agentId: string, input: AgentWrite): Promise<AgentDetail>;
	duplicateAgent(agentId: string, name?: string): Promise<{ agentId: string }>;
	deleteAgent(agentId: string): Promise<void>;
	listPhoneNumbers(): Promise<UpstreamPhoneNumber[]>;
	importTwilioNumber(input: ImportTwilioNumberInput): Promise<{ phoneNumberId: string }>;
	setPhoneNumberAgent(phoneNumberId: string, agentId: string | null): Promise<UpstreamPhoneNumber>;
	deletePhoneNumber(phoneNumberId: string): Promise<void>;
	submitBatch(input: SubmitBatchInput): Promise<BatchCall>;
	getBatch(batchId: string): Promise<BatchCallDetail>;
	cancelBatch(batchId: string): Promise<BatchCall>;
	retryBatch(batchId: string): Promise<BatchCall>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const enc = encodeURIComponent;

export function createManagementClient(options: ManagementClientOptions): ManagementClient {
	const { apiKey, timeoutMs = 15_000, maxRetries = 2, retryBaseMs = 200, retryMaxMs = 5_000 } = options;
	const base = new URL(options.baseUrl);
	const prefix = base.pathname.replace(/\/+$/, '');

	async function call<S extends z.ZodType>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, schema: S | null, body?: unknown): Promise<z.infer<S>> {
		const idempotent = method !== 'POST';
		for (let attempt = 0; ; attempt++) {
			let failure: UpstreamError;
			let retryAfterMs: number | null = null;
			let retryable = false;
			try {
				const res = await request(new URL(`${prefix}${path}`, base.origin), {
					method,
					dispatcher: options.dispatcher,
					headers: { 'xi-api-key': apiKey, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
					body: body === undefined ? undefined : JSON.stringify(body),
					headersTimeout: timeoutMs,
					bodyTimeout: timeoutMs
				});
				const text = await res.body.text();
				if (res.statusCode >= 200 && res.statusCode < 300) {
					if (!schema) return undefined as z.infer<S>;
					let raw: unknown;
					try {
						raw = JSON.parse(text);
					} catch (err) {
						throw new UpstreamError({ status: res.statusCode, code: 'invalid_response', path, bodySnippet: text.slice(0, BODY_SNIPPET_CHARS), cause: err });
					}
					const parsed = schema.safeParse(raw);
					if (!parsed.success)
						throw new UpstreamError({
							status: res.statusCode,
							code: 'invalid_response',
							path,
							message: `ElevenLabs ${path} returned an unexpected shape: ${parsed.error.message.slice(0, BODY_SNIPPET_CHARS)}`,
							cause: parsed.error
						});
					return parsed.data;
				}
				failure = new UpstreamError({ status: res.statusCode, code: 'http', path, bodySnippet: text.slice(0, BODY_SNIPPET_CHARS) });
				retryable = res.statusCode === 429 || (idempotent && (res.statusCode >= 500 || res.statusCode === 408));
				retryAfterMs = parseRetryAfter(res.headers['retry-after']);
			} catch (err) {
				if (err instanceof UpstreamError) throw err;
				failure = new UpstreamError({ status: 0, code: 'network', path, message: `ElevenLabs ${path} network error: ${(err as Error).message}`, cause: err });
				retryable = idempotent;
			}
			if (!retryable || attempt >= maxRetries) throw failure;
			await sleep(Math.min(retryMaxMs, retryAfterMs ?? Math.random() * retryBaseMs * 2 ** attempt));
		}
	}

	const batchPath = (id: string) => `/v1/convai/batch-calling/${enc(id)}`;

	return {
		getAccount: () => call('GET', '/v1/user', accountSchema),
		getAgent: (agentId) => call('GET', `/v1/convai/agents/${enc(agentId)}`, agentDetailSchema),
		async createAgent(input) {
			const r = await call('POST', '/v1/convai/agents/create', agentIdSchema, { conversation_config: {}, ...input });
			return { agentId: r.agent_id };
		},
		updateAgent: (agentId, input) => call('PATCH', `/v1/convai/agents/${enc(agentId)}`, agentDetailSchema, input),
		async duplicateAgent(agentId, name) {
			const r = await call('POST', `/v1/convai/agents/${enc(agentId)}/duplicate`, agentIdSchema, name ? { name } : {});
			return { agentId: r.agent_id };
		},
		async deleteAgent(agentId) {
			await call('DELETE', `/v1/convai/agents/${enc(agentId)}`, null);
		},
		// A bare JSON array upstream (reference §4).
		listPhoneNumbers: () => call('GET', '/v1/convai/phone-numbers', z.array(upstreamPhoneNumberSchema)),
		async importTwilioNumber(input) {
			const r = await call('POST', '/v1/convai/phone-numbers', z.looseObject({ phone_number_id: z.string() }), {
				provider: 'twilio',
				phone_number: input.phoneNumber,
				label: input.label,
				sid: input.accountSid,
				token: input.authToken,
				supports_inbound: true,
				supports_outbound: true,
				...(input.agentId ? { agent_id: input.agentId } : {})
			});
			return { phoneNumberId: r.phone_number_id };
		},
		setPhoneNumberAgent: (phoneNumberId, agentId) =>
			call('PATCH', `/v1/convai/phone-numbers/${enc(phoneNumberId)}`, upstreamPhoneNumberSchema, { agent_id: agentId }),
		async deletePhoneNumber(phoneNumberId) {
			await call('DELETE', `/v1/convai/phone-numbers/${enc(phoneNumberId)}`, null);
		},
		submitBatch: (input) =>
			call('POST', '/v1/convai/batch-calling/submit', batchCallSchema, {
				call_name: input.callName,
				agent_id: input.agentId,
				agent_phone_number_id: input.phoneNumberId,
				scheduled_time_unix: input.scheduledTimeUnix ?? null,
				...(input.timezone ? { timezone: input.timezone } : {}),
				recipients: input.recipients.map((r) => ({
					...(r.id ? { id: r.id } : {}),
					phone_number: r.phoneNumber,
					...(r.dynamicVariables ? { conversation_initiation_client_data: { dynamic_variables: r.dynamicVariables } } : {})
				}))
			}),
		getBatch: (batchId) => call('GET', batchPath(batchId), batchCallDetailSchema),
		cancelBatch: (batchId) => call('POST', `${batchPath(batchId)}/cancel`, batchCallSchema),
		retryBatch: (batchId) => call('POST', `${batchPath(batchId)}/retry`, batchCallSchema)
	};
}
