import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import type { z } from 'zod';
import {
	agentsPageSchema,
	conversationDetailSchema,
	conversationsPageSchema,
	type AgentSummary,
	type AgentsPage,
	type ConversationDetail,
	type ConversationSummary,
	type ConversationsPage
} from './types';

export type UpstreamErrorCode = 'http' | 'invalid_response' | 'network';

/** A failed upstream call. `status` is 0 for network failures that exhausted their retries. */
export class UpstreamError extends Error {
	readonly status: number;
	readonly code: UpstreamErrorCode;
	readonly path: string;
	readonly bodySnippet: string;

	constructor(input: { status: number; code: UpstreamErrorCode; path: string; bodySnippet?: string; message?: string; cause?: unknown }) {
		super(input.message ?? `ElevenLabs ${input.path} failed with ${input.status}: ${input.bodySnippet ?? ''}`.trim(), {
			cause: input.cause
		});
		this.name = 'UpstreamError';
		this.status = input.status;
		this.code = input.code;
		this.path = input.path;
		this.bodySnippet = input.bodySnippet ?? '';
	}
}

export interface ElevenLabsClientOptions {
	baseUrl: string;
	apiKey: string;
	maxConcurrency?: number;
	timeoutMs?: number;
	maxRetries?: number;
	/** First backoff step; later steps double, with full jitter. */
	retryBaseMs?: number;
	/** Upper bound for any single wait, including a server-sent Retry-After. */
	retryMaxMs?: number;
	/** Bring your own undici dispatcher (e.g. a MockAgent); the client then does not own or close it. */
	dispatcher?: Dispatcher;
}

export interface ListConversationsInput {
	cursor?: string | null;
	agentId?: string;
	callStartAfterUnix?: number;
	callStartBeforeUnix?: number;
	pageSize?: number;
}

export interface ClientStats {
	/** HTTP requests actually sent, retries included. */
	requests: number;
	retries: number;
	/** Highest number of requests in flight at once, to check the concurrency cap. */
	maxInFlight: number;
	inFlight: number;
}

export interface ElevenLabsClient {
	readonly stats: ClientStats;
	listConversations(input?: ListConversationsInput): Promise<{ page: ConversationsPage; raw: unknown }>;
	iterateConversations(input?: Omit<ListConversationsInput, 'cursor'>): AsyncGenerator<ConversationSummary, void, undefined>;
	getConversation(conversationId: string): Promise<{ conversation: ConversationDetail; raw: unknown }>;
	streamConversationAudio(conversationId: string): Promise<{ stream: Readable; contentType: string | null }>;
	listAgents(): Promise<{ agents: AgentSummary[]; raw: unknown[] }>;
	close(): Promise<void>;
}

const BODY_SNIPPET_CHARS = 500;
const MAX_PAGE_SIZE = 100;

class Semaphore {
	private available: number;
	private readonly waiters: Array<() => void> = [];

	constructor(size: number) {
		this.available = size;
	}

	async acquire(): Promise<() => void> {
		if (this.available > 0) this.available--;
		else await new Promise<void>((resolve) => this.waiters.push(resolve));
		let released = false;
		return () => {
			if (released) return;
			released = true;
			// Hand the permit straight to the next waiter so a newcomer cannot overtake it.
			const next = this.waiters.shift();
			if (next) next();
			else this.available++;
		};
	}
}

/** Retry-After is either delta-seconds or an HTTP date; returns ms or null when absent/unparseable. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs = Date.now()): number | null {
	const v = Array.isArray(value) ? value[0] : value;
	if (v === undefined || v.trim() === '') return null;
	const secs = Number(v);
	if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
	const at = Date.parse(v);
	if (Number.isNaN(at)) return null;
	return Math.max(0, at - nowMs);
}

function isRetryableStatus(status: number): boolean {
	return status === 429 || status === 408 || status >= 500;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createElevenLabsClient(options: ElevenLabsClientOptions): ElevenLabsClient {
	const {
		apiKey,
		maxConcurrency = 4,
		timeoutMs = 10_000,
		maxRetries = 5,
		retryBaseMs = 250,
		retryMaxMs = 30_000
	} = options;
	const base = new URL(options.baseUrl);
	const pathPrefix = base.pathname.replace(/\/+$/, '');
	const ownsDispatcher = !options.dispatcher;
	// One pool per client (and so per base URL); sized to the cap so keep-alive sockets are reused, not queued.
	const dispatcher: Dispatcher =
		options.dispatcher ?? new Pool(base.origin, { connections: maxConcurrency, pipelining: 1, keepAliveTimeout: 30_000 });
	const semaphore = new Semaphore(maxConcurrency);
	const stats: ClientStats = { requests: 0, retries: 0, maxInFlight: 0, inFlight: 0 };

	function backoffMs(attempt: number, retryAfterMs: number | null): number {
		if (retryAfterMs !== null) return Math.min(retryAfterMs, retryMaxMs);
		const ceiling = Math.min(retryMaxMs, retryBaseMs * 2 ** attempt);
		// Full jitter spreads a herd of workers that all got throttled at the same moment.
		return Math.random() * ceiling;
	}

	/**
	 * Sends a GET with retries. Resolves with a 2xx response whose body is still unread; the caller must consume
	 * it and then call `release` (the concurrency permit is held until the body is done).
	 */
	async function send(path: string, query?: URLSearchParams): Promise<{ res: Dispatcher.ResponseData; release: () => void }> {
		const qs = query && [...query.keys()].length > 0 ? `?${query.toString()}` : '';
		const fullPath = `${pathPrefix}${path}${qs}`;
		for (let attempt = 0; ; attempt++) {
			const release = await semaphore.acquire();
			stats.inFlight++;
			stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
			let releasedSlot = false;
			const releaseSlot = () => {
				if (releasedSlot) return;
				releasedSlot = true;
				stats.inFlight--;
				release();
			};
			let retryAfterMs: number | null = null;
			let failure: UpstreamError;
			try {
				stats.requests++;
				const res = await dispatcher.request({
					origin: base.origin,
					method: 'GET',
					path: fullPath,
					headers: { 'xi-api-key': apiKey, accept: 'application/json' },
					headersTimeout: timeoutMs,
					bodyTimeout: timeoutMs
				});
				if (res.statusCode >= 200 && res.statusCode < 300) return { res, release: releaseSlot };
				const text = await res.body.text().catch(() => '');
				releaseSlot();
				failure = new UpstreamError({
					status: res.statusCode,
					code: 'http',
					path,
					bodySnippet: text.slice(0, BODY_SNIPPET_CHARS)
				});
				if (!isRetryableStatus(res.statusCode)) throw failure;
				retryAfterMs = parseRetryAfter(res.headers['retry-after']);
			} catch (err) {
				releaseSlot();
				if (err instanceof UpstreamError) throw err;
				failure = new UpstreamError({
					status: 0,
					code: 'network',
					path,
					message: `ElevenLabs ${path} network error: ${(err as Error).message}`,
					cause: err
				});
			}
			if (attempt >= maxRetries) throw failure;
			stats.retries++;
			await sleep(backoffMs(attempt, retryAfterMs));
		}
	}

	async function getJson<S extends z.ZodType>(path: string, schema: S, query?: URLSearchParams): Promise<{ parsed: z.infer<S>; raw: unknown }> {
		const { res, release } = await send(path, query);
		let raw: unknown;
		try {
			const text = await res.body.text();
			try {
				raw = JSON.parse(text);
			} catch (err) {
				throw new UpstreamError({ status: res.statusCode, code: 'invalid_response', path, bodySnippet: text.slice(0, BODY_SNIPPET_CHARS), cause: err });
			}
		} finally {
			release();
		}
		const result = schema.safeParse(raw);
		if (!result.success) {
			throw new UpstreamError({
				status: res.statusCode,
				code: 'invalid_response',
				path,
				message: `ElevenLabs ${path} returned an unexpected shape: ${result.error.message.slice(0, BODY_SNIPPET_CHARS)}`,
				bodySnippet: JSON.stringify(raw).slice(0, BODY_SNIPPET_CHARS),
				cause: result.error
			});
		}
		return { parsed: result.data, raw };
	}

	async function listConversations(input: ListConversationsInput = {}) {
		const q = new URLSearchParams();
		if (input.cursor) q.set('cursor', input.cursor);
		if (input.agentId) q.set('agent_id', input.agentId);
		if (input.callStartAfterUnix !== undefined) q.set('call_start_after_unix', String(Math.floor(input.callStartAfterUnix)));
		if (input.callStartBeforeUnix !== undefined) q.set('call_start_before_unix', String(Math.floor(input.callStartBeforeUnix)));
		q.set('page_size', String(Math.min(MAX_PAGE_SIZE, Math.max(1, input.pageSize ?? MAX_PAGE_SIZE))));
		const { parsed, raw } = await getJson('/v1/convai/conversations', conversationsPageSchema, q);
		return { page: parsed, raw };
	}

	async function* iterateConversations(input: Omit<ListConversationsInput, 'cursor'> = {}) {
		let cursor: string | null | undefined;
		const seen = new Set<string>();
		for (;;) {
			const { page } = await listConversations({ ...input, cursor });
			for (const c of page.conversations) yield c;
			if (!page.has_more || !page.next_cursor) return;
			// A cursor that comes back twice would loop forever; stop instead.
			if (seen.has(page.next_cursor)) return;
			seen.add(page.next_cursor);
			cursor = page.next_cursor;
		}
	}

	async function getConversation(conversationId: string) {
		const { parsed, raw } = await getJson(
			`/v1/convai/conversations/${encodeURIComponent(conversationId)}`,
			conversationDetailSchema
		);
		return { conversation: parsed, raw };
	}

	async function streamConversationAudio(conversationId: string) {
		const { res, release } = await send(`/v1/convai/conversations/${encodeURIComponent(conversationId)}/audio`);
		const body = res.body as unknown as Readable;
		// The permit follows the stream: it is returned when the consumer finishes, fails or abandons it.
		body.once('end', release);
		body.once('close', release);
		body.once('error', release);
		const ct = res.headers['content-type'];
		return { stream: body, contentType: (Array.isArray(ct) ? ct[0] : ct) ?? null };
	}

	async function listAgents() {
		const agents: AgentSummary[] = [];
		const raw: unknown[] = [];
		let cursor: string | null | undefined;
		for (let pages = 0; pages < 1000; pages++) {
			const q = new URLSearchParams({ page_size: String(MAX_PAGE_SIZE) });
			if (cursor) q.set('cursor', cursor);
			const res: { parsed: AgentsPage; raw: unknown } = await getJson('/v1/convai/agents', agentsPageSchema, q);
			agents.push(...res.parsed.agents);
			raw.push(res.raw);
			if (!res.parsed.has_more || !res.parsed.next_cursor || res.parsed.next_cursor === cursor) break;
			cursor = res.parsed.next_cursor;
		}
		return { agents, raw };
	}

	return {
		stats,
		listConversations,
		iterateConversations,
		getConversation,
		streamConversationAudio,
		listAgents,
		async close() {
			if (ownsDispatcher) await dispatcher.close();
		}
	};
}
