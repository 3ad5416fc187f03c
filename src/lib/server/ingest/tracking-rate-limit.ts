// Per-address limit for the public tracking endpoints, in the web process's memory: the endpoints answer thousands
// of hits a second and a shared count (PostgreSQL) would cost a round trip each. With WEB_PROCESSES processes an
// address may get up to that many times the limit; the limit exists to stop code enumeration and floods, not to
// meter people. Fixed one-minute windows; Retry-After is the time left in the window.

export interface RateLimitVerdict {
	ok: boolean;
	/** Seconds until the address may try again (only when refused). */
	retryAfterSeconds: number;
}

export class AddressRateLimiter {
	private windows = new Map<string, { start: number; count: number }>();
	private lastSweep = 0;

	constructor(
		readonly limitPerWindow: number,
		readonly windowMs = 60_000,
		private readonly maxAddresses = 200_000
	) {}

	hit(address: string, now = Date.now()): RateLimitVerdict {
		this.sweep(now);
		let w = this.windows.get(address);
		if (!w || now - w.start >= this.windowMs) {
			w = { start: now, count: 0 };
			this.windows.set(address, w);
		}
		w.count++;
		if (w.count <= this.limitPerWindow) return { ok: true, retryAfterSeconds: 0 };
		return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000)) };
	}

	/** Drops finished windows now and then, and everything if an address flood outgrows the map. */
	private sweep(now: number): void {
		if (this.windows.size >= this.maxAddresses) this.windows.clear();
		if (now - this.lastSweep < this.windowMs) return;
		this.lastSweep = now;
		for (const [k, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(k);
	}
}
