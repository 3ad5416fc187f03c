import { createPrng, type Prng } from './prng';
import { callerNumber, fakeMp3, pickName, SCENARIOS, usNumber, type Scenario } from './generator';

export type ConversationStatus = 'initiated' | 'in-progress' | 'processing' | 'done' | 'failed';
type CallResult = 'answered' | 'voicemail' | 'busy' | 'no_answer' | 'failed';
type Json = Record<string, unknown>;

export interface EmulatorAgentInput {
	agentId?: string;
	name?: string;
	/** E.164 numbers bought on Twilio and imported into ElevenLabs for this agent. */
	phoneNumbers?: string[];
	voiceId?: string;
}

export interface ProgressionTimings {
	/** ms after creation at which the call is answered (initiated → in-progress). */
	inProgressAfterMs: number;
	/** ms after creation at which the call ends (→ processing). */
	processingAfterMs: number;
	/** ms after creation at which analysis is done (→ done / failed). */
	finalAfterMs: number;
}

export interface GenerateCallsOptions {
	agentId?: string;
	/** Start time of the first generated call; later ones are spaced by `spacingSecs`. */
	startTimeUnix?: number;
	spacingSecs?: number;
	/** Skip the live progression: the call is created already done/failed and its webhooks go out at once. */
	finalImmediately?: boolean;
	direction?: 'inbound' | 'outbound';
	/** Force the outcome mix, e.g. 'failed' to produce call_initiation_failure events. */
	outcome?: 'answered' | 'voicemail' | 'busy' | 'no_answer' | 'failed';
	sendWebhooks?: boolean;
	/** E.164 of an imported number: inbound calls to it, answered by the agent assigned to it. */
	toNumber?: string;
}

export interface AgentRecord {
	agent_id: string;
	name: string;
	voice_id: string;
	tags: string[];
	created_at_unix_secs: number;
	updated_at_unix_secs: number;
	conversation_config: Json;
	platform_settings: Json;
	last_call_time_unix_secs: number | null;
}

export interface PhoneNumberRecord {
	phone_number_id: string;
	phone_number: string;
	label: string;
	supports_inbound: boolean;
	supports_outbound: boolean;
	agent_id: string | null;
}

export interface BatchRecipientRecord {
	id: string;
	phone_number: string;
	conversation_id: string | null;
	created_at_unix: number;
	updated_at_unix: number;
	conversation_initiation_client_data: Json | null;
}

export interface BatchRecord {
	id: string;
	name: string;
	agent_id: string;
	phone_number_id: string | null;
	created_at_unix: number;
	scheduled_time_unix: number;
	last_updated_at_unix: number;
	timezone: string | null;
	cancelled: boolean;
	retry_count: number;
	telephony_call_config: Json;
	recipients: BatchRecipientRecord[];
}

export interface ConversationRecord {
	conversation_id: string;
	agent_id: string;
	status: ConversationStatus;
	start_time_unix_secs: number;
	call_duration_secs: number;
	direction: 'inbound' | 'outbound';
	call_result: CallResult;
	call_successful: 'success' | 'failure' | 'unknown';
	phone_number_id: string;
	agent_number: string;
	external_number: string;
	call_sid: string;
	stream_sid: string;
	batch: { batch_call_id: string; batch_call_recipient_id: string } | null;
	scenario: Scenario;
	customerName: string;
	extraDynamicVariables: Json;
	cost: number;
	audioSeed: number;
	/** The GET detail body for the current status, rebuilt on every transition. */
	detail: Json;
	summary: Json;
}

export interface StateOptions {
	seed?: number;
	agents?: EmulatorAgentInput[];
	progression?: Partial<ProgressionTimings>;
	audioMaxBytes?: number;
	/** Injected for tests that need stable timestamps. */
	now?: () => number;
	onFinal?: (conversation: ConversationRecord) => void;
}

export const DEFAULT_PROGRESSION: ProgressionTimings = { inProgressAfterMs: 500, processingAfterMs: 2500, finalAfterMs: 4000 };

const LLM = 'gemini-2.0-flash';

export class EmulatorState {
	readonly agents = new Map<string, AgentRecord>();
	readonly phoneNumbers = new Map<string, PhoneNumberRecord>();
	readonly batches = new Map<string, BatchRecord>();
	readonly conversations = new Map<string, ConversationRecord>();
	/** Sorted by (start_time_unix_secs, conversation_id) descending, the API's default order; keyset pages cut it. */
	readonly ordered: ConversationRecord[] = [];
	readonly progression: ProgressionTimings;
	readonly audioMaxBytes: number;
	private readonly prng: Prng;
	private readonly timers = new Set<NodeJS.Timeout>();
	private readonly now: () => number;
	private readonly onFinal: (c: ConversationRecord) => void;
	private autoBatches = new Map<string, string>();

	constructor(options: StateOptions = {}) {
		this.prng = createPrng(options.seed ?? 1);
		this.now = options.now ?? Date.now;
		this.onFinal = options.onFinal ?? (() => {});
		this.progression = { ...DEFAULT_PROGRESSION, ...options.progression };
		this.audioMaxBytes = options.audioMaxBytes ?? 48 * 1024;
		const agents = options.agents?.length ? options.agents : [{ name: 'Front desk' }, { name: 'Sales line' }];
		for (const a of agents) this.addAgentFromInput(a);
	}

	nowSecs(): number {
		return Math.floor(this.now() / 1000);
	}

	newId(prefix: string): string {
		return `${prefix}_${this.prng.id(26)}`;
	}

	private addAgentFromInput(input: EmulatorAgentInput): AgentRecord {
		const agent = this.createAgent({
			agentId: input.agentId,
			name: input.name ?? `Agent ${this.agents.size + 1}`,
			voiceId: input.voiceId,
			conversationConfig: null
		});
		const numbers = input.phoneNumbers?.length ? input.phoneNumbers : [usNumber(this.prng)];
		for (const n of numbers) this.createPhoneNumber({ phoneNumber: n, label: `${agent.name} ${n}`, agentId: agent.agent_id });
		return agent;
	}

	createAgent(input: { agentId?: string; name?: string | null; voiceId?: string; tags?: string[]; conversationConfig: Json | null; platformSettings?: Json | null }): AgentRecord {
		const now = this.nowSecs();
		const voiceId = input.voiceId ?? ((input.conversationConfig?.tts as Json | undefined)?.voice_id as string | undefined) ?? 'cjVigY5qzO86Huf0OWal';
		const agent: AgentRecord = {
			agent_id: input.agentId ?? this.newId('agent'),
			name: input.name ?? 'New agent',
			voice_id: voiceId,
			tags: input.tags ?? [],
			created_at_unix_secs: now,
			updated_at_unix_secs: now,
			conversation_config: input.conversationConfig ?? {
				agent: {
					first_message: 'Hello, thanks for calling. How can I help you today?',
					language: 'en',
					prompt: { prompt: 'You are a helpful receptionist.', llm: LLM, temperature: 0, tool_ids: [] }
				},
				tts: { model_id: 'eleven_flash_v2', voice_id: voiceId },
				conversation: { max_duration_seconds: 600 }
			},
			platform_settings: input.platformSettings ?? {},
			last_call_time_unix_secs: null
		};
		this.agents.set(agent.agent_id, agent);
		return agent;
	}

	createPhoneNumber(input: { phoneNumber: string; label: string; agentId?: string | null; supportsInbound?: boolean; supportsOutbound?: boolean }): PhoneNumberRecord {
		const rec: PhoneNumberRecord = {
			phone_number_id: this.newId('phnum'),
			phone_number: input.phoneNumber,
			label: input.label,
			supports_inbound: input.supportsInbound ?? true,
			supports_outbound: input.supportsOutbound ?? true,
			agent_id: input.agentId ?? null
		};
		this.phoneNumbers.set(rec.phone_number_id, rec);
		return rec;
	}

	agentNumbers(agentId: string): PhoneNumberRecord[] {
		return [...this.phoneNumbers.values()].filter((p) => p.agent_id === agentId);
	}

	phoneNumberJson(p: PhoneNumberRecord): Json {
		const agent = p.agent_id ? this.agents.get(p.agent_id) : undefined;
		return {
			phone_number: p.phone_number,
			label: p.label,
			supports_inbound: p.supports_inbound,
			supports_outbound: p.supports_outbound,
			phone_number_id: p.phone_number_id,
			assigned_agent: agent ? { agent_id: agent.agent_id, agent_name: agent.name } : null,
			provider: 'twilio'
		};
	}

	agentSummaryJson(a: AgentRecord): Json {
		return {
			agent_id: a.agent_id,
			name: a.name,
			voice_id: a.voice_id,
			tags: a.tags,
			created_at_unix_secs: a.created_at_unix_secs,
			access_info: { is_creator: true, creator_name: 'Emulator', creator_email: 'emulator@example.com', role: 'admin' },
			last_call_time_unix_secs: a.last_call_time_unix_secs,
			archived: false
		};
	}

	agentJson(a: AgentRecord): Json {
		return {
			agent_id: a.agent_id,
			name: a.name,
			conversation_config: a.conversation_config,
			metadata: { created_at_unix_secs: a.created_at_unix_secs, updated_at_unix_secs: a.updated_at_unix_secs },
			platform_settings: a.platform_settings,
			phone_numbers: this.agentNumbers(a.agent_id).map((p) => this.phoneNumberJson(p)),
			workflow: null,
			access_info: { is_creator: true, creator_name: 'Emulator', creator_email: 'emulator@example.com', role: 'admin' },
			tags: a.tags,
			version_id: null,
			branch_id: null
		};
	}

	// ---------------------------------------------------------------- conversations

	/** Generates `n` calls. Draws from the seeded PRNG in a fixed order, so the same seed gives the same calls. */
	generateCalls(n: number, opts: GenerateCallsOptions = {}): ConversationRecord[] {
		if (opts.toNumber) return this.callsToNumber(n, opts.toNumber, opts);
		const agentIds = [...this.agents.keys()];
		if (agentIds.length === 0) throw new Error('no agents configured');
		if (opts.agentId && !this.agents.has(opts.agentId)) throw new Error(`unknown agent ${opts.agentId}`);
		const spacing = opts.spacingSecs ?? 60;
		// Without an explicit start, a backfill batch ends "now" so it is all in the past.
		const firstStart = opts.startTimeUnix ?? (opts.finalImmediately ? this.nowSecs() - n * spacing : this.nowSecs());
		const out: ConversationRecord[] = [];
		for (let i = 0; i < n; i++) {
			const agentId = opts.agentId ?? this.prng.pick(agentIds);
			const start = opts.startTimeUnix !== undefined || opts.finalImmediately ? firstStart + i * spacing : this.nowSecs();
			const outbound = opts.direction ? opts.direction === 'outbound' : this.prng.chance(0.3);
			// Some outbound calls belong to the agent's standing campaign so attribution by batch can be tested.
			const asBatch = outbound && !opts.direction && this.prng.chance(0.4);
			out.push(
				this.createConversation({
					agentId,
					startTimeUnix: start,
					direction: outbound ? 'outbound' : 'inbound',
					forcedOutcome: opts.outcome,
					batchId: asBatch ? this.autoBatchFor(agentId) : undefined,
					finalImmediately: opts.finalImmediately ?? false,
					sendWebhooks: opts.sendWebhooks ?? true
				})
			);
		}
		return out;
	}

	private callsToNumber(n: number, e164: string, opts: GenerateCallsOptions): ConversationRecord[] {
		const number = [...this.phoneNumbers.values()].find((p) => p.phone_number === e164);
		if (!number) throw new Error(`no imported phone number ${e164}`);
		if (!number.agent_id) throw new Error(`phone number ${e164} has no agent assigned`);
		const out: ConversationRecord[] = [];
		for (let i = 0; i < n; i++) {
			out.push(
				this.createConversation({
					agentId: number.agent_id,
					startTimeUnix: this.nowSecs(),
					direction: 'inbound',
					phoneNumberId: number.phone_number_id,
					forcedOutcome: opts.outcome,
					finalImmediately: opts.finalImmediately ?? false,
					sendWebhooks: opts.sendWebhooks ?? true
				})
			);
		}
		return out;
	}

	/** Dials again every recipient whose call failed (no answer, busy, failed). */
	retryBatch(batch: BatchRecord): void {
		let any = false;
		for (const r of batch.recipients) {
			const c = r.conversation_id ? this.conversations.get(r.conversation_id) : undefined;
			if (c?.status !== 'failed') continue;
			r.conversation_id = null;
			any = true;
		}
		if (!any) return;
		batch.retry_count++;
		batch.last_updated_at_unix = this.nowSecs();
		this.dispatchBatch(batch);
	}

	private autoBatchFor(agentId: string): string {
		let id = this.autoBatches.get(agentId);
		if (!id || !this.batches.has(id)) {
			const numbers = this.agentNumbers(agentId);
			const batch = this.createBatch({ name: 'Re-engagement campaign', agentId, phoneNumberId: numbers[0]?.phone_number_id ?? null, recipients: [] });
			id = batch.id;
			this.autoBatches.set(agentId, id);
		}
		return id;
	}

	createBatch(input: { name: string; agentId: string; phoneNumberId: string | null; scheduledTimeUnix?: number | null; timezone?: string | null; recipients: Array<{ id?: string | null; phone_number: string; conversation_initiation_client_data?: Json | null }>; telephonyCallConfig?: Json | null }): BatchRecord {
		const now = this.nowSecs();
		const batch: BatchRecord = {
			id: this.newId('btcal'),
			name: input.name,
			agent_id: input.agentId,
			phone_number_id: input.phoneNumberId,
			created_at_unix: now,
			scheduled_time_unix: input.scheduledTimeUnix ?? now,
			last_updated_at_unix: now,
			timezone: input.timezone ?? null,
			cancelled: false,
			retry_count: 0,
			telephony_call_config: input.telephonyCallConfig ?? { ringing_timeout_secs: 60 },
			recipients: []
		};
		this.batches.set(batch.id, batch);
		for (const r of input.recipients) this.addRecipient(batch, r);
		return batch;
	}

	private addRecipient(batch: BatchRecord, r: { id?: string | null; phone_number: string; conversation_initiation_client_data?: Json | null }): BatchRecipientRecord {
		const now = this.nowSecs();
		const rec: BatchRecipientRecord = {
			id: r.id ?? this.newId('rcpt'),
			phone_number: r.phone_number,
			conversation_id: null,
			created_at_unix: now,
			updated_at_unix: now,
			conversation_initiation_client_data: r.conversation_initiation_client_data ?? null
		};
		batch.recipients.push(rec);
		return rec;
	}

	/** Dials the batch now, or at its scheduled time (unless it is cancelled by then). */
	dispatchBatchWhenDue(batch: BatchRecord): void {
		const waitMs = batch.scheduled_time_unix * 1000 - this.now();
		if (waitMs <= 0) return this.dispatchBatch(batch);
		this.schedule(waitMs, () => {
			if (!batch.cancelled) this.dispatchBatch(batch);
		});
	}

	/** Dials every recipient of a batch that has no conversation yet. */
	dispatchBatch(batch: BatchRecord): void {
		if (batch.cancelled) return;
		for (const r of batch.recipients) {
			if (r.conversation_id) continue;
			this.createConversation({
				agentId: batch.agent_id,
				startTimeUnix: this.nowSecs(),
				direction: 'outbound',
				externalNumber: r.phone_number,
				phoneNumberId: batch.phone_number_id ?? undefined,
				batchId: batch.id,
				recipient: r,
				extraClientData: r.conversation_initiation_client_data ?? undefined,
				finalImmediately: false,
				sendWebhooks: true
			});
		}
	}

	createConversation(input: {
		agentId: string;
		startTimeUnix: number;
		direction: 'inbound' | 'outbound';
		forcedOutcome?: CallResult;
		externalNumber?: string;
		phoneNumberId?: string;
		batchId?: string;
		recipient?: BatchRecipientRecord;
		extraClientData?: Json;
		finalImmediately: boolean;
		sendWebhooks: boolean;
	}): ConversationRecord {
		const p = this.prng;
		const agent = this.agents.get(input.agentId);
		if (!agent) throw new Error(`unknown agent ${input.agentId}`);
		const numbers = this.agentNumbers(agent.agent_id);
		const number = (input.phoneNumberId && this.phoneNumbers.get(input.phoneNumberId)) || (numbers.length ? p.pick(numbers) : undefined);
		const scenario = input.direction === 'outbound' ? p.pick(SCENARIOS.filter((s) => s.key === 'lead' || s.key === 'pricing')) : p.pick(SCENARIOS.filter((s) => s.key !== 'lead'));
		const external = input.externalNumber ?? callerNumber(p);
		let callResult: CallResult;
		if (input.forcedOutcome) callResult = input.forcedOutcome;
		else if (input.direction === 'inbound') callResult = 'answered';
		else {
			const r = p.next();
			callResult = r < 0.12 ? 'no_answer' : r < 0.18 ? 'busy' : r < 0.2 ? 'failed' : r < 0.3 ? 'voicemail' : 'answered';
		}
		const connected = callResult === 'answered' || callResult === 'voicemail';
		const duration = callResult === 'answered' ? p.int(25, 540) : callResult === 'voicemail' ? p.int(8, 30) : 0;
		const successful = callResult === 'answered' ? (p.chance(scenario.successRate) ? 'success' : 'failure') : 'failure';
		const rec: ConversationRecord = {
			conversation_id: this.newId('conv'),
			agent_id: agent.agent_id,
			status: 'initiated',
			start_time_unix_secs: input.startTimeUnix,
			call_duration_secs: duration,
			direction: input.direction,
			call_result: callResult,
			call_successful: connected ? successful : 'failure',
			phone_number_id: number?.phone_number_id ?? this.newId('phnum'),
			agent_number: number?.phone_number ?? usNumber(p),
			external_number: external,
			call_sid: `CA${p.hex(32)}`,
			stream_sid: `MZ${p.hex(32)}`,
			batch: null,
			scenario,
			customerName: pickName(p),
			extraDynamicVariables: ((input.extraClientData?.dynamic_variables as Json | undefined) ?? {}) as Json,
			cost: duration === 0 ? 0 : Math.round(duration * (8 + p.next() * 6)),
			audioSeed: Math.floor(p.next() * 0xffffffff),
			detail: {},
			summary: {}
		};
		if (input.batchId) {
			const batch = this.batches.get(input.batchId);
			if (batch) {
				const recipient = input.recipient ?? this.addRecipient(batch, { phone_number: external });
				recipient.conversation_id = rec.conversation_id;
				recipient.updated_at_unix = this.nowSecs();
				batch.last_updated_at_unix = this.nowSecs();
				rec.batch = { batch_call_id: batch.id, batch_call_recipient_id: recipient.id };
			}
		}
		agent.last_call_time_unix_secs = Math.max(agent.last_call_time_unix_secs ?? 0, input.startTimeUnix);
		this.conversations.set(rec.conversation_id, rec);
		this.insertOrdered(rec);
		const final: ConversationStatus = connected ? 'done' : 'failed';
		if (input.finalImmediately) {
			this.transition(rec, final, input.sendWebhooks);
		} else {
			this.rebuild(rec);
			const t = this.progression;
			if (connected) {
				this.schedule(t.inProgressAfterMs, () => this.transition(rec, 'in-progress', false));
				this.schedule(t.processingAfterMs, () => this.transition(rec, 'processing', false));
			}
			this.schedule(t.finalAfterMs, () => this.transition(rec, final, input.sendWebhooks));
		}
		return rec;
	}

	private schedule(ms: number, fn: () => void): void {
		const timer = setTimeout(() => {
			this.timers.delete(timer);
			fn();
		}, ms);
		this.timers.add(timer);
	}

	private transition(rec: ConversationRecord, status: ConversationStatus, sendWebhooks: boolean): void {
		// A deleted conversation keeps its timers; it must not come back to life.
		if (!this.conversations.has(rec.conversation_id)) return;
		rec.status = status;
		this.rebuild(rec);
		if ((status === 'done' || status === 'failed') && sendWebhooks) this.onFinal(rec);
	}

	private insertOrdered(rec: ConversationRecord): void {
		let lo = 0;
		let hi = this.ordered.length;
		while (lo < hi) {
			const mid = (lo + hi) >>> 1;
			if (compareDesc(this.ordered[mid], rec) < 0) lo = mid + 1;
			else hi = mid;
		}
		this.ordered.splice(lo, 0, rec);
	}

	deleteConversation(id: string): boolean {
		const rec = this.conversations.get(id);
		if (!rec) return false;
		this.conversations.delete(id);
		const idx = this.ordered.indexOf(rec);
		if (idx >= 0) this.ordered.splice(idx, 1);
		return true;
	}

	audioFor(rec: ConversationRecord): Buffer {
		return fakeMp3(rec.audioSeed, rec.call_duration_secs, this.audioMaxBytes);
	}

	hasAudio(rec: ConversationRecord): boolean {
		return rec.status === 'done' && rec.call_duration_secs > 0;
	}

	/** Rebuilds the wire snapshots; only the fields a real conversation would show at this status are filled. */
	private rebuild(rec: ConversationRecord): void {
		const agent = this.agents.get(rec.agent_id);
		const status = rec.status;
		const ended = status === 'processing' || status === 'done';
		const final = status === 'done' || status === 'failed';
		const vars = { name: rec.customerName, successful: rec.call_successful === 'success' };
		const transcriptSummary = rec.call_result === 'voicemail' ? `The call reached ${vars.name}'s voicemail; the agent left a short message.` : rec.scenario.summary(vars);
		const title = rec.call_result === 'voicemail' ? 'Voicemail left' : rec.scenario.title;
		const fullTranscript = this.transcript(rec);
		const transcript = status === 'initiated' || status === 'failed' ? [] : status === 'in-progress' ? fullTranscript.slice(0, 2) : fullTranscript;
		const analysis =
			status === 'done'
				? {
						evaluation_criteria_results: {
							goal_achieved: {
								criteria_id: 'goal_achieved',
								result: rec.call_successful,
								rationale: rec.call_successful === 'success' ? 'The caller got what they asked for.' : 'The caller did not reach the goal.'
							}
						},
						data_collection_results: {
							customer_name: {
								data_collection_id: 'customer_name',
								value: rec.call_result === 'answered' ? rec.customerName : null,
								json_schema: { type: 'string', description: "The caller's first name", dynamic_variable: '', constant_value: '' },
								rationale: rec.call_result === 'answered' ? `The caller said their name is ${rec.customerName}.` : 'No name was given.'
							},
							appointment_booked: {
								data_collection_id: 'appointment_booked',
								value: rec.scenario.key === 'booking' && rec.call_successful === 'success',
								json_schema: { type: 'boolean', description: 'Whether an appointment was booked', dynamic_variable: '', constant_value: '' },
								rationale: 'Derived from the end of the conversation.'
							}
						},
						call_successful: rec.call_successful,
						transcript_summary: transcriptSummary,
						call_summary_title: title
					}
				: null;
		const durationNow = ended ? rec.call_duration_secs : 0;
		const callerId = rec.direction === 'inbound' ? rec.external_number : rec.agent_number;
		const calledNumber = rec.direction === 'inbound' ? rec.agent_number : rec.external_number;
		const dynamicVariables: Json = {
			...rec.extraDynamicVariables,
			system__agent_id: rec.agent_id,
			system__current_agent_id: rec.agent_id,
			system__caller_id: callerId,
			system__called_number: calledNumber,
			system__call_sid: rec.call_sid,
			system__conversation_id: rec.conversation_id,
			system__time_utc: new Date(rec.start_time_unix_secs * 1000).toISOString(),
			system__call_duration_secs: durationNow
		};
		const hasAudio = this.hasAudio(rec);
		const failureReason = rec.call_result === 'no_answer' ? 'no-answer' : rec.call_result === 'busy' ? 'busy' : 'unknown';
		rec.detail = {
			agent_id: rec.agent_id,
			agent_name: agent?.name ?? null,
			conversation_id: rec.conversation_id,
			status,
			user_id: null,
			branch_id: null,
			version_id: null,
			transcript,
			metadata: {
				start_time_unix_secs: rec.start_time_unix_secs,
				accepted_time_unix_secs: status === 'initiated' || status === 'failed' ? null : rec.start_time_unix_secs,
				call_duration_secs: durationNow,
				cost: ended ? rec.cost : 0,
				deletion_settings: {
					deletion_time_unix_secs: null,
					deleted_logs_at_time_unix_secs: null,
					deleted_audio_at_time_unix_secs: null,
					deleted_transcript_at_time_unix_secs: null,
					delete_transcript_and_pii: false,
					delete_audio: false
				},
				feedback: { type: null, overall_score: null, likes: 0, dislikes: 0, rating: null, comment: null },
				charging: ended
					? { dev_discount: false, is_burst: false, tier: 'pro', llm_price: 0.0021, llm_charge: Math.round(rec.cost * 0.1), call_charge: rec.cost }
					: null,
				phone_call: {
					type: 'twilio',
					direction: rec.direction,
					phone_number_id: rec.phone_number_id,
					agent_number: rec.agent_number,
					external_number: rec.external_number,
					call_result: final ? rec.call_result : null,
					stream_sid: rec.stream_sid,
					call_sid: rec.call_sid
				},
				batch_call: rec.batch,
				termination_reason: status === 'failed' ? `Call ${failureReason}` : ended ? (rec.call_result === 'voicemail' ? 'voicemail_detected' : 'Call ended by remote party') : '',
				error: status === 'failed' ? { code: 1002, reason: failureReason } : null,
				warnings: [],
				main_language: 'en',
				rag_usage: null,
				text_only: false,
				conversation_initiation_source: 'twilio',
				conversation_initiation_source_version: null,
				timezone: null
			},
			analysis,
			conversation_initiation_client_data: {
				conversation_config_override: { agent: { prompt: null, first_message: null, language: null }, tts: { voice_id: null } },
				custom_llm_extra_body: {},
				user_id: null,
				source_info: { source: null, version: null },
				dynamic_variables: dynamicVariables
			},
			has_audio: hasAudio,
			has_user_audio: hasAudio,
			has_response_audio: hasAudio,
			has_auxiliary_audio: false,
			tag_ids: []
		};
		rec.summary = {
			agent_id: rec.agent_id,
			branch_id: null,
			version_id: null,
			agent_name: agent?.name ?? null,
			conversation_id: rec.conversation_id,
			start_time_unix_secs: rec.start_time_unix_secs,
			call_duration_secs: durationNow,
			message_count: transcript.length,
			status,
			termination_reason: (rec.detail.metadata as Json).termination_reason,
			call_successful: status === 'done' ? rec.call_successful : status === 'failed' ? 'failure' : 'unknown',
			transcript_summary: analysis ? transcriptSummary : null,
			call_summary_title: analysis ? title : null,
			main_language: 'en',
			conversation_initiation_source: 'twilio',
			direction: rec.direction,
			rating: null,
			tag_ids: []
		};
	}

	private transcript(rec: ConversationRecord): Json[] {
		if (rec.call_result === 'voicemail') {
			return [turn('agent', `Hi ${rec.customerName}, this is Ava from VoxCalls. Please call us back when you can.`, 0)];
		}
		if (rec.call_result !== 'answered') return [];
		const turns = rec.scenario.turns;
		const step = Math.max(1, Math.floor(rec.call_duration_secs / turns.length));
		return turns.map(([role, text], i) => turn(role, text.replaceAll('{name}', rec.customerName), i * step));
	}

	batchJson(batch: BatchRecord, detailed: boolean): Json {
		const agent = this.agents.get(batch.agent_id);
		const statuses = batch.recipients.map((r) => this.recipientStatus(r, batch));
		const finished = statuses.filter((s) => s === 'completed' || s === 'failed' || s === 'voicemail').length;
		const dispatched = batch.recipients.filter((r) => r.conversation_id).length;
		const status = batch.cancelled
			? 'cancelled'
			: batch.recipients.length === 0
				? 'pending'
				: finished === batch.recipients.length
					? 'completed'
					: dispatched > 0
						? 'in_progress'
						: 'pending';
		const json: Json = {
			id: batch.id,
			phone_number_id: batch.phone_number_id,
			phone_provider: 'twilio',
			name: batch.name,
			agent_id: batch.agent_id,
			branch_id: null,
			created_at_unix: batch.created_at_unix,
			scheduled_time_unix: batch.scheduled_time_unix,
			timezone: batch.timezone,
			total_calls_dispatched: dispatched,
			total_calls_scheduled: batch.recipients.length,
			total_calls_finished: finished,
			last_updated_at_unix: batch.last_updated_at_unix,
			status,
			retry_count: batch.retry_count,
			telephony_call_config: batch.telephony_call_config,
			target_concurrency_limit: null,
			agent_name: agent?.name ?? ''
		};
		if (detailed) {
			json.recipients = batch.recipients.map((r, i) => ({
				id: r.id,
				phone_number: r.phone_number,
				status: statuses[i],
				created_at_unix: r.created_at_unix,
				updated_at_unix: r.updated_at_unix,
				conversation_id: r.conversation_id,
				conversation_initiation_client_data: r.conversation_initiation_client_data
			}));
		}
		return json;
	}

	private recipientStatus(r: BatchRecipientRecord, batch?: BatchRecord): string {
		const c = r.conversation_id ? this.conversations.get(r.conversation_id) : undefined;
		if (!c) return r.conversation_id ? 'completed' : batch?.cancelled ? 'cancelled' : 'pending';
		switch (c.status) {
			case 'initiated':
				return 'initiated';
			case 'in-progress':
			case 'processing':
				return 'in_progress';
			case 'failed':
				return 'failed';
			default:
				return c.call_result === 'voicemail' ? 'voicemail' : 'completed';
		}
	}

	dispose(): void {
		for (const t of this.timers) clearTimeout(t);
		this.timers.clear();
	}
}

function turn(role: 'agent' | 'user', message: string, t: number): Json {
	return {
		role,
		agent_metadata: null,
		message,
		multivoice_message: null,
		tool_calls: [],
		tool_results: [],
		feedback: null,
		llm_override: null,
		time_in_call_secs: t,
		conversation_turn_metrics: null,
		rag_retrieval_info: null,
		llm_usage: null,
		interrupted: false,
		original_message: null,
		source_medium: 'audio'
	};
}

/** Negative when a sorts before b in the default (newest first) order. */
export function compareDesc(a: { start_time_unix_secs: number; conversation_id: string }, b: { start_time_unix_secs: number; conversation_id: string }): number {
	if (a.start_time_unix_secs !== b.start_time_unix_secs) return b.start_time_unix_secs - a.start_time_unix_secs;
	return a.conversation_id < b.conversation_id ? 1 : a.conversation_id > b.conversation_id ? -1 : 0;
}
