import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPrng } from './prng';
import { compareDesc, EmulatorState, type ConversationRecord, type EmulatorAgentInput, type GenerateCallsOptions, type ProgressionTimings } from './state';
import { WebhookSender, type WebhookFaults } from './webhooks';

export interface ApiFaults {
	/** Probability that an API request is answered 429 with Retry-After. */
	http429Rate: number;
	/** Probability that an API request is answered 500. */
	http500Rate: number;
	/** Added latency for every API request. */
	slowMs: number;
	/** Retry-After sent with injected 429s; fractional values are allowed so tests stay fast. */
	retryAfterSecs: number;
}

export type EmulatorFaults = ApiFaults & WebhookFaults;

export interface ElevenLabsEmulatorOptions {
	port?: number;
	host?: string;
	apiKey?: string;
	seed?: number;
	agents?: EmulatorAgentInput[];
	webhookUrls?: string[];
	webhookSecret?: string;
	/** Which post-call events are enabled in the (emulated) workspace settings. */
	webhookEvents?: Array<'transcript' | 'audio' | 'call_initiation_failure'>;
	progression?: Partial<ProgressionTimings>;
	faults?: Partial<EmulatorFaults>;
	/** Shorthand for `faults.retryAfterSecs`. */
	retryAfterSecs?: number;
	autoGenerate?: { intervalMs: number; agents?: string[] } | null;
	audioMaxBytes?: number;
	now?: () => number;
	log?: (line: string) => void;
}

export interface EmulatorStats {
	requests: number;
	/** Highest number of API requests being served at once since the last reset. */
	maxConcurrentRequests: number;
	requestsByRoute: Record<string, number>;
	injected429: number;
	injected500: number;
	conversations: number;
	webhooks: WebhookSender['stats'];
}

export interface EmulatorControl {
	generateCalls(n: number, opts?: GenerateCallsOptions): ConversationRecord[];
	setFaults(faults: Partial<EmulatorFaults>): EmulatorFaults;
	/** Deterministic fault: the next `count` API requests (optionally only on paths starting with `pathPrefix`) get `status`. */
	failNext(count: number, status: number, opts?: { pathPrefix?: string; method?: string; after?: boolean }): void;
	flushWebhooks(): Promise<void>;
	setWebhookTargets(input: { urls?: string[]; secret?: string }): void;
	stats(): EmulatorStats;
	resetStats(): void;
}

export interface ElevenLabsEmulator {
	url: string;
	port: number;
	state: EmulatorState;
	control: EmulatorControl;
	close(): Promise<void>;
}

const NO_FAULTS: EmulatorFaults = {
	http429Rate: 0,
	http500Rate: 0,
	slowMs: 0,
	retryAfterSecs: 1,
	duplicateRate: 0,
	reorderRate: 0,
	dropRate: 0,
	delayMs: 0
};

const MAX_BODY_BYTES = 5 * 1024 * 1024;

// Returned by handlers that wrote the response themselves (streams).
const RESPONDED = Symbol('responded');

class HttpError extends Error {
	constructor(
		readonly status: number,
		readonly body: unknown
	) {
		super(`HTTP ${status}`);
	}
}

// FastAPI/ElevenLabs error shapes (reference §5).
const detailError = (status: number, code: string, message: string) => new HttpError(status, { detail: { status: code, message } });
const validationError = (loc: Array<string | number>, msg: string, type: string, input?: unknown) =>
	new HttpError(422, { detail: [{ type, loc, msg, input }] });

type Handler = (ctx: { req: IncomingMessage; res: ServerResponse; params: string[]; query: URLSearchParams; body: () => Promise<Record<string, unknown>> }) => Promise<unknown> | unknown;

interface Route {
	method: string;
	pattern: RegExp;
	name: string;
	handler: Handler;
}

function encodeCursor(rec: { start_time_unix_secs: number; conversation_id: string }): string {
	return Buffer.from(JSON.stringify([rec.start_time_unix_secs, rec.conversation_id])).toString('base64url');
}

function decodeCursor(cursor: string): { start_time_unix_secs: number; conversation_id: string } {
	try {
		const [t, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
		if (typeof t === 'number' && typeof id === 'string') return { start_time_unix_secs: t, conversation_id: id };
	} catch {
		// fall through to the validation error below
	}
	throw detailError(400, 'invalid_cursor', 'The cursor is invalid.');
}

/** First index whose element satisfies `pred`, for a predicate that is false…false then true…true. */
function lowerBound<T>(items: readonly T[], pred: (item: T) => boolean): number {
	let lo = 0;
	let hi = items.length;
	while (lo < hi) {
		const mid = (lo + hi) >>> 1;
		if (pred(items[mid])) hi = mid;
		else lo = mid + 1;
	}
	return lo;
}

function intParam(query: URLSearchParams, name: string, opts: { min?: number; max?: number } = {}): number | undefined {
	const v = query.get(name);
	if (v === null || v === '') return undefined;
	if (!/^-?\d+$/.test(v)) throw validationError(['query', name], 'Input should be a valid integer, unable to parse string as an integer', 'int_parsing', v);
	const n = Number(v);
	if (opts.min !== undefined && n < opts.min)
		throw validationError(['query', name], `Input should be greater than or equal to ${opts.min}`, 'greater_than_equal', v);
	if (opts.max !== undefined && n > opts.max)
		throw validationError(['query', name], `Input should be less than or equal to ${opts.max}`, 'less_than_equal', v);
	return n;
}

function requireField(body: Record<string, unknown>, field: string): unknown {
	if (body[field] === undefined || body[field] === null) throw validationError(['body', field], 'Field required', 'missing', body);
	return body[field];
}

export async function startElevenLabsEmulator(options: ElevenLabsEmulatorOptions = {}): Promise<ElevenLabsEmulator> {
	const apiKey = options.apiKey ?? 'test-api-key';
	const seed = options.seed ?? 1;
	const log = options.log ?? (() => {});
	let faults: EmulatorFaults = { ...NO_FAULTS, ...options.faults };
	if (options.retryAfterSecs !== undefined) faults.retryAfterSecs = options.retryAfterSecs;
	// A separate stream for faults keeps generated data identical whatever faults are switched on.
	const faultPrng = createPrng(seed ^ 0x5eed);
	const events = new Set(options.webhookEvents ?? ['transcript', 'audio', 'call_initiation_failure']);
	// `after`: run the handler, then answer the error (a lost answer: the change happened, the caller thinks not).
	const forcedFailures: Array<{ remaining: number; status: number; pathPrefix?: string; method?: string; after?: boolean }> = [];

	const webhooks = new WebhookSender({
		urls: options.webhookUrls ?? [],
		secret: options.webhookSecret ?? 'whsec_emulator',
		prng: createPrng(seed ^ 0xbeef),
		faults: () => faults
	});

	const state = new EmulatorState({
		seed,
		agents: options.agents,
		progression: options.progression,
		audioMaxBytes: options.audioMaxBytes,
		now: options.now,
		onFinal: (rec) => sendPostCallWebhooks(rec)
	});

	function sendPostCallWebhooks(rec: ConversationRecord): void {
		// Building bodies (base64 audio especially) is the expensive part of a backfill; skip it with nobody listening.
		if (webhooks.urls.length === 0) return;
		const eventTimestamp = state.nowSecs();
		if (rec.status === 'failed') {
			if (!events.has('call_initiation_failure')) return;
			const failureReason = rec.call_result === 'no_answer' ? 'no-answer' : rec.call_result === 'busy' ? 'busy' : 'unknown';
			const body = JSON.stringify({
				type: 'call_initiation_failure',
				event_timestamp: eventTimestamp,
				data: {
					agent_id: rec.agent_id,
					conversation_id: rec.conversation_id,
					failure_reason: failureReason,
					// Twilio status-callback fields, as third-party captures show.
					metadata: {
						type: 'twilio',
						body: {
							AccountSid: 'AC00000000000000000000000000000000',
							CallSid: rec.call_sid,
							CallStatus: failureReason === 'unknown' ? 'failed' : failureReason,
							Direction: 'outbound-api',
							From: rec.agent_number,
							To: rec.external_number,
							ApiVersion: '2010-04-01',
							Timestamp: new Date(eventTimestamp * 1000).toUTCString()
						}
					}
				}
			});
			webhooks.enqueue({ type: 'call_initiation_failure', conversationId: rec.conversation_id, body, chunked: false });
			return;
		}
		if (events.has('transcript')) {
			const body = JSON.stringify({ type: 'post_call_transcription', event_timestamp: eventTimestamp, data: rec.detail });
			webhooks.enqueue({ type: 'post_call_transcription', conversationId: rec.conversation_id, body, chunked: false });
		}
		if (events.has('audio') && state.hasAudio(rec)) {
			const body = JSON.stringify({
				type: 'post_call_audio',
				event_timestamp: eventTimestamp,
				data: { agent_id: rec.agent_id, conversation_id: rec.conversation_id, full_audio: state.audioFor(rec).toString('base64') }
			});
			webhooks.enqueue({ type: 'post_call_audio', conversationId: rec.conversation_id, body, chunked: true });
		}
	}

	let requestsByRoute: Record<string, number> = {};
	let requests = 0;
	let injected429 = 0;
	let injected500 = 0;
	let inFlight = 0;
	let maxConcurrentRequests = 0;

	const routes: Route[] = [];
	const route = (method: string, path: string, handler: Handler) => {
		const pattern = new RegExp(`^${path.replace(/\{[^}]+\}/g, '([^/]+)')}$`);
		routes.push({ method, pattern, name: `${method} ${path}`, handler });
	};

	// ---------------------------------------------------------------- conversations

	route('GET', '/v1/convai/conversations', ({ query }) => {
		const pageSize = intParam(query, 'page_size', { min: 1, max: 100 }) ?? 30;
		const after = intParam(query, 'call_start_after_unix');
		const before = intParam(query, 'call_start_before_unix');
		const agentId = query.get('agent_id');
		const callSuccessful = query.get('call_successful');
		const direction = query.get('sort_direction') ?? 'desc';
		if (direction !== 'asc' && direction !== 'desc')
			throw validationError(['query', 'sort_direction'], "Input should be 'asc' or 'desc'", 'enum', direction);
		const includeSummary = query.get('summary_mode') === 'include';
		const excluded = new Set(query.getAll('exclude_statuses'));
		const cursorParam = query.get('cursor');
		const cursor = cursorParam ? decodeCursor(cursorParam) : null;
		const list = state.ordered;
		const asc = direction === 'asc';
		// Narrow the newest-first array to [lo, hi) with binary searches so deep pages stay cheap on big stores.
		// `after`/`before` are exclusive bounds on start_time_unix_secs; consumers should overlap their windows.
		let lo = before !== undefined ? lowerBound(list, (r) => r.start_time_unix_secs < before) : 0;
		let hi = after !== undefined ? lowerBound(list, (r) => r.start_time_unix_secs <= after) : list.length;
		if (cursor) {
			if (asc) hi = Math.min(hi, lowerBound(list, (r) => compareDesc(r, cursor) >= 0));
			else lo = Math.max(lo, lowerBound(list, (r) => compareDesc(r, cursor) > 0));
		}
		const out: Record<string, unknown>[] = [];
		let last: ConversationRecord | null = null;
		let hasMore = false;
		for (let k = 0; k < hi - lo; k++) {
			const rec = list[asc ? hi - 1 - k : lo + k];
			if (agentId && rec.agent_id !== agentId) continue;
			if (callSuccessful && (rec.summary.call_successful as string) !== callSuccessful) continue;
			if (excluded.has(rec.status)) continue;
			if (out.length === pageSize) {
				hasMore = true;
				break;
			}
			out.push(includeSummary ? rec.summary : { ...rec.summary, transcript_summary: null });
			last = rec;
		}
		return { conversations: out, next_cursor: hasMore && last ? encodeCursor(last) : null, has_more: hasMore };
	});

	const findConversation = (id: string) => {
		const rec = state.conversations.get(decodeURIComponent(id));
		if (!rec) throw detailError(404, 'conversation_not_found', `Conversation ${decodeURIComponent(id)} not found`);
		return rec;
	};

	route('GET', '/v1/convai/conversations/{id}', ({ params }) => findConversation(params[0]).detail);

	route('DELETE', '/v1/convai/conversations/{id}', ({ params }) => {
		const rec = findConversation(params[0]);
		state.deleteConversation(rec.conversation_id);
		return {};
	});

	route('GET', '/v1/convai/conversations/{id}/audio', async ({ params, res }) => {
		const rec = findConversation(params[0]);
		if (!state.hasAudio(rec)) throw detailError(404, 'audio_not_found', `Audio for conversation ${rec.conversation_id} not found`);
		const audio = state.audioFor(rec);
		// Streamed in chunks without content-length, like a proxied object-store download.
		res.writeHead(200, { 'content-type': 'audio/mpeg', 'transfer-encoding': 'chunked' });
		for (let i = 0; i < audio.length; i += 8192) {
			if (!res.write(audio.subarray(i, i + 8192))) await new Promise((r) => res.once('drain', r));
		}
		res.end();
		return RESPONDED;
	});

	// ---------------------------------------------------------------- agents

	route('GET', '/v1/convai/agents', ({ query }) => {
		const pageSize = intParam(query, 'page_size', { min: 1, max: 100 }) ?? 30;
		const search = query.get('search')?.toLowerCase();
		const all = [...state.agents.values()]
			.filter((a) => !search || a.name.toLowerCase().includes(search))
			.sort((a, b) => b.created_at_unix_secs - a.created_at_unix_secs || (a.agent_id < b.agent_id ? 1 : -1));
		const cursor = query.get('cursor');
		const start = cursor ? all.findIndex((a) => a.agent_id === Buffer.from(cursor, 'base64url').toString()) + 1 : 0;
		const page = all.slice(start, start + pageSize);
		const hasMore = start + pageSize < all.length;
		return {
			agents: page.map((a) => state.agentSummaryJson(a)),
			next_cursor: hasMore ? Buffer.from(page[page.length - 1].agent_id).toString('base64url') : null,
			has_more: hasMore
		};
	});

	route('POST', '/v1/convai/agents/create', async ({ body }) => {
		const b = await body();
		const conversationConfig = requireField(b, 'conversation_config') as Record<string, unknown>;
		validateAgentBody(b);
		const agent = state.createAgent({
			name: (b.name as string | undefined) ?? null,
			tags: (b.tags as string[] | undefined) ?? [],
			conversationConfig,
			platformSettings: (b.platform_settings as Record<string, unknown> | undefined) ?? null
		});
		return { agent_id: agent.agent_id };
	});

	const findAgent = (id: string) => {
		const agent = state.agents.get(decodeURIComponent(id));
		if (!agent) throw detailError(404, 'agent_not_found', `Agent with id ${decodeURIComponent(id)} not found`);
		return agent;
	};

	route('GET', '/v1/convai/agents/{id}', ({ params }) => state.agentJson(findAgent(params[0])));

	route('PATCH', '/v1/convai/agents/{id}', async ({ params, body }) => {
		const agent = findAgent(params[0]);
		const b = await body();
		validateAgentBody(b);
		if (typeof b.name === 'string') agent.name = b.name;
		if (Array.isArray(b.tags)) agent.tags = b.tags as string[];
		// Partial updates merge into nested sections (sending only agent.first_message keeps the prompt).
		if (b.conversation_config && typeof b.conversation_config === 'object')
			agent.conversation_config = deepMerge(agent.conversation_config, b.conversation_config as Record<string, unknown>);
		if (b.platform_settings && typeof b.platform_settings === 'object')
			agent.platform_settings = deepMerge(agent.platform_settings, b.platform_settings as Record<string, unknown>);
		const voice = ((agent.conversation_config.tts as Record<string, unknown> | undefined)?.voice_id as string | undefined) ?? null;
		if (voice) agent.voice_id = voice;
		agent.updated_at_unix_secs = state.nowSecs();
		return state.agentJson(agent);
	});

	route('POST', '/v1/convai/agents/{id}/duplicate', async ({ params, body }) => {
		const source = findAgent(params[0]);
		const b = await body();
		const copy = state.createAgent({
			name: typeof b.name === 'string' ? b.name : `${source.name} (copy)`,
			voiceId: source.voice_id,
			tags: [...source.tags],
			conversationConfig: structuredClone(source.conversation_config),
			platformSettings: structuredClone(source.platform_settings)
		});
		return { agent_id: copy.agent_id };
	});

	route('DELETE', '/v1/convai/agents/{id}', ({ params }) => {
		const agent = findAgent(params[0]);
		state.agents.delete(agent.agent_id);
		return {};
	});

	// ---------------------------------------------------------------- phone numbers

	route('GET', '/v1/convai/phone-numbers', ({ query }) => {
		const agentId = query.get('agent_id');
		return [...state.phoneNumbers.values()].filter((p) => !agentId || p.agent_id === agentId).map((p) => state.phoneNumberJson(p));
	});

	route('POST', '/v1/convai/phone-numbers', async ({ body }) => {
		const b = await body();
		const provider = (b.provider as string | undefined) ?? 'twilio';
		if (provider !== 'twilio') throw validationError(['body', 'provider'], "Input should be 'twilio'", 'literal_error', provider);
		for (const f of ['phone_number', 'label', 'sid', 'token']) requireField(b, f);
		const agentId = (b.agent_id as string | undefined) ?? null;
		if (agentId) findAgent(agentId);
		const rec = state.createPhoneNumber({
			phoneNumber: b.phone_number as string,
			label: b.label as string,
			agentId,
			supportsInbound: b.supports_inbound as boolean | undefined,
			supportsOutbound: b.supports_outbound as boolean | undefined
		});
		return { phone_number_id: rec.phone_number_id };
	});

	const findNumber = (id: string) => {
		const rec = state.phoneNumbers.get(decodeURIComponent(id));
		if (!rec) throw detailError(404, 'phone_number_not_found', `Phone number ${decodeURIComponent(id)} not found`);
		return rec;
	};

	route('GET', '/v1/convai/phone-numbers/{id}', ({ params }) => state.phoneNumberJson(findNumber(params[0])));

	route('PATCH', '/v1/convai/phone-numbers/{id}', async ({ params, body }) => {
		const rec = findNumber(params[0]);
		const b = await body();
		if ('agent_id' in b) {
			if (b.agent_id) findAgent(b.agent_id as string);
			rec.agent_id = (b.agent_id as string | null) ?? null;
		}
		if (typeof b.label === 'string') rec.label = b.label;
		return state.phoneNumberJson(rec);
	});

	route('DELETE', '/v1/convai/phone-numbers/{id}', ({ params }) => {
		state.phoneNumbers.delete(findNumber(params[0]).phone_number_id);
		return {};
	});

	// ---------------------------------------------------------------- outbound and batch calls

	route('POST', '/v1/convai/twilio/outbound-call', async ({ body }) => {
		const b = await body();
		const agentId = requireField(b, 'agent_id') as string;
		const phoneNumberId = requireField(b, 'agent_phone_number_id') as string;
		const to = requireField(b, 'to_number') as string;
		findAgent(agentId);
		findNumber(phoneNumberId);
		const rec = state.createConversation({
			agentId,
			startTimeUnix: state.nowSecs(),
			direction: 'outbound',
			externalNumber: to,
			phoneNumberId,
			extraClientData: (b.conversation_initiation_client_data as Record<string, unknown> | undefined) ?? undefined,
			finalImmediately: false,
			sendWebhooks: true
		});
		// `callSid` really is camelCase on the wire.
		return { success: true, message: 'Success', conversation_id: rec.conversation_id, callSid: rec.call_sid };
	});

	route('POST', '/v1/convai/batch-calling/submit', async ({ body }) => {
		const b = await body();
		const name = requireField(b, 'call_name') as string;
		const agentId = requireField(b, 'agent_id') as string;
		const recipients = requireField(b, 'recipients');
		if (!Array.isArray(recipients)) throw validationError(['body', 'recipients'], 'Input should be a valid list', 'list_type', recipients);
		findAgent(agentId);
		const phoneNumberId = (b.agent_phone_number_id as string | undefined) ?? null;
		if (phoneNumberId) findNumber(phoneNumberId);
		const batch = state.createBatch({
			name,
			agentId,
			phoneNumberId,
			scheduledTimeUnix: (b.scheduled_time_unix as number | undefined) ?? null,
			timezone: (b.timezone as string | undefined) ?? null,
			telephonyCallConfig: (b.telephony_call_config as Record<string, unknown> | undefined) ?? null,
			recipients: recipients.map((r: Record<string, unknown>, i: number) => {
				if (typeof r?.phone_number !== 'string')
					throw validationError(['body', 'recipients', i, 'phone_number'], 'Field required', 'missing', r);
				return {
					id: (r.id as string | undefined) ?? null,
					phone_number: r.phone_number,
					conversation_initiation_client_data: (r.conversation_initiation_client_data as Record<string, unknown> | undefined) ?? null
				};
			})
		});
		// A batch scheduled in the future waits (pending) until its time; cancelling it first means no call is placed.
		state.dispatchBatchWhenDue(batch);
		return state.batchJson(batch, false);
	});

	route('GET', '/v1/convai/batch-calling/workspace', ({ query }) => {
		const limit = intParam(query, 'limit', { min: 1, max: 100 }) ?? 100;
		const agentId = query.get('agent_id');
		const all = [...state.batches.values()]
			.filter((b) => !agentId || b.agent_id === agentId)
			.sort((a, b) => b.created_at_unix - a.created_at_unix || (a.id < b.id ? 1 : -1));
		const lastDoc = query.get('last_doc');
		const start = lastDoc ? all.findIndex((b) => b.id === lastDoc) + 1 : 0;
		const page = all.slice(start, start + limit);
		const hasMore = start + limit < all.length;
		return { batch_calls: page.map((b) => state.batchJson(b, false)), next_doc: hasMore ? page[page.length - 1].id : null, has_more: hasMore };
	});

	const findBatch = (id: string) => {
		const b = state.batches.get(decodeURIComponent(id));
		if (!b) throw detailError(404, 'batch_call_not_found', `Batch call ${decodeURIComponent(id)} not found`);
		return b;
	};

	route('GET', '/v1/convai/batch-calling/{id}', ({ params }) => state.batchJson(findBatch(params[0]), true));

	route('POST', '/v1/convai/batch-calling/{id}/retry', ({ params }) => {
		const b = findBatch(params[0]);
		if (b.cancelled) throw detailError(400, 'batch_call_cancelled', `Batch call ${b.id} was cancelled and cannot be retried`);
		state.retryBatch(b);
		return state.batchJson(b, false);
	});

	route('POST', '/v1/convai/batch-calling/{id}/cancel', ({ params }) => {
		const b = findBatch(params[0]);
		b.cancelled = true;
		b.last_updated_at_unix = state.nowSecs();
		return state.batchJson(b, false);
	});

	// ---------------------------------------------------------------- account

	// What "test connection" reads: the key's user and subscription (UserResponseModel's required keys, plus the
	// ones SDK 2.73 requires: workspace_id, seat_type, and the subscription's overage and workspace counters).
	route('GET', '/v1/user', () => ({
		user_id: 'emulator-user',
		workspace_id: 'emulator-workspace',
		seat_type: 'workspace_admin',
		first_name: 'Emulated workspace',
		is_new_user: false,
		xi_api_key: null,
		is_api_key_hashed: true,
		xi_api_key_preview: `${apiKey.slice(0, 3)}…${apiKey.slice(-4)}`,
		can_use_delayed_payment_methods: false,
		is_onboarding_completed: true,
		is_onboarding_checklist_completed: true,
		created_at: 1_700_000_000,
		subscription: {
			tier: 'pro',
			character_count: 0,
			character_limit: 500_000,
			max_character_limit_extension: null,
			max_credit_limit_extension: 0,
			professional_voice_slots_used_in_workspace: 0,
			current_overage: { amount: '0.00', currency: 'usd' },
			can_extend_character_limit: false,
			allowed_to_extend_character_limit: false,
			voice_slots_used: 0,
			professional_voice_slots_used: 0,
			voice_limit: 160,
			voice_add_edit_counter: 0,
			professional_voice_limit: 1,
			can_extend_voice_limit: false,
			can_use_instant_voice_cloning: true,
			can_use_professional_voice_cloning: true,
			status: 'active'
		}
	}));

	// ---------------------------------------------------------------- emulator control (no auth, no faults)

	const control: EmulatorControl = {
		generateCalls: (n, opts) => state.generateCalls(n, opts),
		setFaults(next) {
			faults = { ...faults, ...next };
			return faults;
		},
		failNext(count, status, opts) {
			if (count <= 0) return;
			forcedFailures.push({ remaining: count, status, pathPrefix: opts?.pathPrefix, method: opts?.method, after: opts?.after });
		},
		flushWebhooks: () => webhooks.flush(),
		setWebhookTargets({ urls, secret }) {
			if (urls) webhooks.urls = urls;
			if (secret) webhooks.secret = secret;
		},
		stats: () => ({
			requests,
			maxConcurrentRequests,
			requestsByRoute: { ...requestsByRoute },
			injected429,
			injected500,
			conversations: state.conversations.size,
			webhooks: { ...webhooks.stats, byType: { ...webhooks.stats.byType } }
		}),
		resetStats() {
			requests = 0;
			maxConcurrentRequests = inFlight;
			requestsByRoute = {};
			injected429 = 0;
			injected500 = 0;
			Object.assign(webhooks.stats, { sent: 0, delivered: 0, failed: 0, dropped: 0, duplicated: 0, reordered: 0, byType: {} });
		}
	};

	const controlRoutes: Route[] = [];
	const controlRoute = (method: string, path: string, handler: Handler) =>
		controlRoutes.push({ method, pattern: new RegExp(`^${path}$`), name: `${method} ${path}`, handler });

	controlRoute('GET', '/_emulator/health', () => ({ ok: true }));
	controlRoute('GET', '/_emulator/stats', () => control.stats());
	controlRoute('POST', '/_emulator/stats/reset', () => {
		control.resetStats();
		return control.stats();
	});
	controlRoute('GET', '/_emulator/faults', () => faults);
	controlRoute('POST', '/_emulator/faults', async ({ body }) => control.setFaults((await body()) as Partial<EmulatorFaults>));
	controlRoute('POST', '/_emulator/fail-next', async ({ body }) => {
		const b = await body();
		control.failNext(Number(b.count ?? 1), Number(b.status ?? 500), {
			pathPrefix: b.pathPrefix as string | undefined,
			method: b.method as string | undefined,
			after: b.after === true
		});
		return { ok: true };
	});
	controlRoute('POST', '/_emulator/calls', async ({ body }) => {
		const b = await body();
		// `toNumber` (E.164): calls to that imported number, answered by the agent assigned to it.
		const created = control.generateCalls(Number(b.count ?? 1), b as GenerateCallsOptions);
		return { conversations: created.map((c) => c.summary) };
	});
	controlRoute('POST', '/_emulator/flush', async () => {
		await control.flushWebhooks();
		return control.stats().webhooks;
	});
	controlRoute('POST', '/_emulator/webhooks', async ({ body }) => {
		const b = await body();
		control.setWebhookTargets({ urls: b.urls as string[] | undefined, secret: b.secret as string | undefined });
		return { urls: webhooks.urls };
	});
	controlRoute('GET', '/_emulator/agents', () =>
		[...state.agents.values()].map((a) => ({ ...state.agentSummaryJson(a), phone_numbers: state.agentNumbers(a.agent_id).map((p) => p.phone_number) }))
	);

	// ---------------------------------------------------------------- dispatch

	function takeForcedFailure(method: string, path: string): { status: number; after: boolean } | null {
		for (let i = 0; i < forcedFailures.length; i++) {
			const f = forcedFailures[i];
			if (f.pathPrefix && !path.startsWith(f.pathPrefix)) continue;
			if (f.method && f.method !== method) continue;
			f.remaining--;
			if (f.remaining <= 0) forcedFailures.splice(i, 1);
			return { status: f.status, after: f.after === true };
		}
		return null;
	}

	function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
		const text = JSON.stringify(body);
		res.writeHead(status, {
			'content-type': 'application/json',
			'content-length': Buffer.byteLength(text),
			server: 'uvicorn',
			'x-trace-id': faultPrng.hex(32),
			...headers
		});
		res.end(text);
	}

	async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? '/', 'http://emulator');
		const method = req.method ?? 'GET';
		let bodyCache: Promise<Record<string, unknown>> | null = null;
		const body = () => (bodyCache ??= readJson(req));
		const isControl = url.pathname.startsWith('/_emulator/');
		const table = isControl ? controlRoutes : routes;
		let matched: { route: Route; params: string[] } | null = null;
		let pathMatched = false;
		for (const r of table) {
			const m = r.pattern.exec(url.pathname);
			if (!m) continue;
			pathMatched = true;
			if (r.method === method) {
				matched = { route: r, params: m.slice(1) };
				break;
			}
		}
		if (!isControl) {
			requests++;
			const key = matched?.route.name ?? `${method} (unmatched)`;
			requestsByRoute[key] = (requestsByRoute[key] ?? 0) + 1;
			if (faults.slowMs > 0) await new Promise((r) => setTimeout(r, faults.slowMs));
			// Auth before routing, as upstream: an unknown path with a bad key is still a 401.
			const key401 = req.headers['xi-api-key'];
			if (key401 !== apiKey) {
				return send(res, 401, {
					detail: key401
						? { status: 'invalid_api_key', message: 'Invalid API key' }
						: { status: 'needs_authorization', message: 'Neither authorization header nor xi-api-key received, please provide one.' }
				});
			}
			const forced = takeForcedFailure(method, url.pathname);
			if (forced?.after && matched) {
				await matched.route.handler({ req, res, params: matched.params, query: url.searchParams, body });
				injected500++;
				return send(res, forced.status, { detail: { status: 'internal_error', message: 'An internal error occurred.' } });
			}
			const injected = forced?.status ?? (faultPrng.chance(faults.http429Rate) ? 429 : faultPrng.chance(faults.http500Rate) ? 500 : null);
			if (injected === 429) {
				injected429++;
				return send(
					res,
					429,
					{ detail: { status: 'too_many_concurrent_requests', message: 'Too many concurrent requests. Please retry later.' } },
					{ 'retry-after': String(faults.retryAfterSecs) }
				);
			}
			if (injected !== null) {
				if (injected === 500) injected500++;
				return send(res, injected, { detail: { status: 'internal_error', message: 'An internal error occurred.' } });
			}
		}
		if (!matched) {
			if (pathMatched) return send(res, 405, { detail: 'Method Not Allowed' });
			return send(res, 404, { detail: 'Not Found' });
		}
		const result = await matched.route.handler({ req, res, params: matched.params, query: url.searchParams, body });
		if (result === RESPONDED) return;
		send(res, 200, result ?? null);
	}

	const server = createServer((req, res) => {
		const api = !(req.url ?? '').startsWith('/_emulator/');
		if (api) {
			inFlight++;
			maxConcurrentRequests = Math.max(maxConcurrentRequests, inFlight);
			res.once('close', () => inFlight--);
		}
		handle(req, res).catch((err: unknown) => {
			if (res.headersSent) {
				res.destroy();
				return;
			}
			if (err instanceof HttpError) return send(res, err.status, err.body);
			log(`elevenlabs emulator: ${(err as Error).stack ?? err}`);
			send(res, 500, { detail: { status: 'internal_error', message: (err as Error).message } });
		});
	});
	server.keepAliveTimeout = 30_000;

	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
	});
	const port = (server.address() as AddressInfo).port;
	const url = `http://${options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1'}:${port}`;

	let autoTimer: NodeJS.Timeout | null = null;
	if (options.autoGenerate && options.autoGenerate.intervalMs > 0) {
		const agentIds = options.autoGenerate.agents?.length ? options.autoGenerate.agents : null;
		let i = 0;
		autoTimer = setInterval(() => {
			const agentId = agentIds ? agentIds[i++ % agentIds.length] : undefined;
			const [c] = state.generateCalls(1, { agentId });
			log(`elevenlabs emulator: new ${c.direction} call ${c.conversation_id} (${c.external_number}) for ${c.agent_id}`);
		}, options.autoGenerate.intervalMs);
	}

	return {
		url,
		port,
		state,
		control,
		async close() {
			if (autoTimer) clearInterval(autoTimer);
			state.dispose();
			await webhooks.close();
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
	};
}


// The spec's enums for the fields our agent form edits (LLM, TTSConversationalModel); upstream answers 422 outside them.
const LLMS = new Set(['gpt-4o-mini', 'gpt-4o', 'gpt-4', 'gpt-4-turbo', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'gpt-5', 'gpt-5-mini', 'gpt-5-nano', 'gpt-3.5-turbo', 'gemini-1.5-pro', 'gemini-1.5-flash', 'gemini-2.0-flash', 'gemini-2.0-flash-lite', 'gemini-2.5-flash-lite', 'gemini-2.5-flash', 'claude-sonnet-4', 'claude-3-7-sonnet', 'claude-3-5-sonnet', 'claude-3-5-sonnet-v1', 'claude-3-haiku', 'grok-beta', 'custom-llm', 'qwen3-4b', 'qwen3-30b-a3b', 'gpt-oss-20b', 'gpt-oss-120b']);
const TTS_MODELS = ['eleven_turbo_v2', 'eleven_turbo_v2_5', 'eleven_flash_v2', 'eleven_flash_v2_5'];

function validateAgentBody(b: Record<string, unknown>): void {
	const cc = (b.conversation_config ?? {}) as Record<string, Record<string, unknown> | undefined>;
	const prompt = (cc.agent?.prompt ?? {}) as Record<string, unknown>;
	if (prompt.llm !== undefined && !LLMS.has(prompt.llm as string))
		throw validationError(['body', 'conversation_config', 'agent', 'prompt', 'llm'], `Input should be ${[...LLMS].slice(0, 3).map((l) => `'${l}'`).join(', ')}, … or 'gpt-oss-120b'`, 'enum', prompt.llm);
	if (prompt.temperature !== undefined && typeof prompt.temperature !== 'number')
		throw validationError(['body', 'conversation_config', 'agent', 'prompt', 'temperature'], 'Input should be a valid number', 'float_type', prompt.temperature);
	const model = cc.tts?.model_id;
	if (model !== undefined && !TTS_MODELS.includes(model as string))
		throw validationError(['body', 'conversation_config', 'tts', 'model_id'], `Input should be ${TTS_MODELS.map((m) => `'${m}'`).join(', ')}`, 'enum', model);
	if (b.name !== undefined && b.name !== null && typeof b.name !== 'string') throw validationError(['body', 'name'], 'Input should be a valid string', 'string_type', b.name);
}

function deepMerge(into: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
	const out: Record<string, unknown> = { ...into };
	for (const [k, v] of Object.entries(patch)) {
		const cur = out[k];
		out[k] =
			v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)
				? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>)
				: v;
	}
	return out;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of req) {
		size += (chunk as Buffer).length;
		if (size > MAX_BODY_BYTES) throw detailError(413, 'payload_too_large', 'Request body too large');
		chunks.push(chunk as Buffer);
	}
	if (size === 0) return {};
	try {
		const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
		if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
	} catch {
		// reported below
	}
	throw new HttpError(422, { detail: [{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error', input: {} }] });
}
