import { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { signWebhookBody } from '../../lib/server/elevenlabs/signature';
import type { Prng } from './prng';

export interface WebhookFaults {
	/** Probability that a delivery is sent twice (same body, re-signed on the second send). */
	duplicateRate: number;
	/** Probability that a delivery is held back and sent after later ones. */
	reorderRate: number;
	/** Probability that a delivery is never sent. */
	dropRate: number;
	/** Added before every delivery. */
	delayMs: number;
}

export interface WebhookStats {
	sent: number;
	delivered: number;
	failed: number;
	dropped: number;
	duplicated: number;
	reordered: number;
	byType: Record<string, number>;
}

export interface WebhookDelivery {
	type: string;
	conversationId: string;
	body: string;
	/** post_call_audio goes out with transfer-encoding: chunked, like upstream. */
	chunked: boolean;
}

export interface WebhookSenderOptions {
	urls: string[];
	secret: string;
	prng: Prng;
	faults: () => WebhookFaults;
	concurrency?: number;
	timeoutMs?: number;
	/** A held-back delivery is released after this long even if nothing else is sent. */
	reorderHoldMs?: number;
}

const CHUNK_BYTES = 16 * 1024;

export class WebhookSender {
	urls: string[];
	secret: string;
	readonly stats: WebhookStats = { sent: 0, delivered: 0, failed: 0, dropped: 0, duplicated: 0, reordered: 0, byType: {} };
	private readonly prng: Prng;
	private readonly faults: () => WebhookFaults;
	private readonly dispatcher: Dispatcher;
	private readonly concurrency: number;
	private readonly timeoutMs: number;
	private readonly reorderHoldMs: number;
	private readonly queue: WebhookDelivery[] = [];
	private held: Array<{ delivery: WebhookDelivery; timer: NodeJS.Timeout }> = [];
	private active = 0;
	private readonly pending = new Set<Promise<void>>();
	private idleWaiters: Array<() => void> = [];
	private closed = false;

	constructor(options: WebhookSenderOptions) {
		this.urls = options.urls;
		this.secret = options.secret;
		this.prng = options.prng;
		this.faults = options.faults;
		this.concurrency = options.concurrency ?? 16;
		this.timeoutMs = options.timeoutMs ?? 10_000;
		this.reorderHoldMs = options.reorderHoldMs ?? 1000;
		this.dispatcher = new Agent({ connections: this.concurrency, keepAliveTimeout: 10_000 });
	}

	enqueue(delivery: WebhookDelivery): void {
		if (this.closed || this.urls.length === 0) return;
		const f = this.faults();
		if (this.prng.chance(f.dropRate)) {
			this.stats.dropped++;
			return;
		}
		if (this.prng.chance(f.reorderRate)) {
			this.stats.reordered++;
			const entry = {
				delivery,
				timer: setTimeout(() => this.release(entry), this.reorderHoldMs)
			};
			this.held.push(entry);
			return;
		}
		this.push(delivery);
		if (this.prng.chance(f.duplicateRate)) {
			this.stats.duplicated++;
			this.push(delivery);
		}
	}

	private release(entry: { delivery: WebhookDelivery; timer: NodeJS.Timeout }): void {
		const i = this.held.indexOf(entry);
		if (i < 0) return;
		this.held.splice(i, 1);
		clearTimeout(entry.timer);
		this.push(entry.delivery);
	}

	private push(delivery: WebhookDelivery): void {
		this.queue.push(delivery);
		this.pump();
	}

	private pump(): void {
		while (this.active < this.concurrency && this.queue.length > 0) {
			const delivery = this.queue.shift()!;
			this.active++;
			const p = this.deliver(delivery).finally(() => {
				this.active--;
				this.pending.delete(p);
				// Held-back deliveries go out once something sent after them has gone, which is what reorders them.
				const next = this.held[0];
				if (next) this.release(next);
				this.pump();
				if (this.active === 0 && this.queue.length === 0 && this.held.length === 0) {
					const waiters = this.idleWaiters;
					this.idleWaiters = [];
					for (const w of waiters) w();
				}
			});
			this.pending.add(p);
		}
	}

	private async deliver(delivery: WebhookDelivery): Promise<void> {
		const { delayMs } = this.faults();
		if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
		await Promise.all(this.urls.map((url) => this.sendOne(url, delivery)));
	}

	private async sendOne(url: string, delivery: WebhookDelivery): Promise<void> {
		const u = new URL(url);
		// Signed at send time, as upstream does, so a delayed delivery carries a fresh timestamp.
		const signature = signWebhookBody(delivery.body, this.secret);
		const headers: Record<string, string> = {
			'content-type': 'application/json',
			'ElevenLabs-Signature': signature,
			'user-agent': 'ElevenLabs-Webhooks/emulator'
		};
		const bytes = Buffer.from(delivery.body);
		let body: string | Readable;
		if (delivery.chunked) {
			body = Readable.from(chunks(bytes), { objectMode: false });
		} else {
			body = delivery.body;
			headers['content-length'] = String(bytes.length);
		}
		this.stats.sent++;
		this.stats.byType[delivery.type] = (this.stats.byType[delivery.type] ?? 0) + 1;
		try {
			const res = await this.dispatcher.request({
				origin: u.origin,
				path: u.pathname + u.search,
				method: 'POST',
				headers,
				body,
				headersTimeout: this.timeoutMs,
				bodyTimeout: this.timeoutMs
			});
			await res.body.dump();
			// Upstream counts only a 200 as success.
			if (res.statusCode === 200) this.stats.delivered++;
			else this.stats.failed++;
		} catch {
			this.stats.failed++;
		}
	}

	/** Releases held deliveries and resolves when nothing is queued, held or in flight. */
	async flush(): Promise<void> {
		for (const entry of [...this.held]) this.release(entry);
		if (this.active === 0 && this.queue.length === 0 && this.held.length === 0) return;
		await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
	}

	async close(): Promise<void> {
		this.closed = true;
		for (const entry of this.held) clearTimeout(entry.timer);
		this.held = [];
		this.queue.length = 0;
		await Promise.allSettled([...this.pending]);
		await this.dispatcher.close();
	}
}

function* chunks(buf: Buffer): Generator<Buffer> {
	for (let i = 0; i < buf.length; i += CHUNK_BYTES) yield buf.subarray(i, i + CHUNK_BYTES);
}
