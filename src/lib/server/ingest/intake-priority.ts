// Intake first. ElevenLabs sends a post-call webhook once unless retries are switched on for that webhook, and
// auto-disables a webhook after ten failures in a row, so during a burst of deliveries answering them matters more
// than how soon the dashboards show the calls. While deliveries arrive faster than `burstRate` a second, the inbox
// processor works at most `share` of the time and rests the remainder, leaving the cores to the web process and
// the inbox's commits; the backlog it builds drains once the burst ends. The delay this adds is bounded: once the
// oldest pending delivery is `maxLagMs` old, the processor works flat out whatever arrives, so a flood that lasts
// longer than that is processed at full speed and the endpoint shares the machine with it.

export interface IntakePriorityOptions {
	/** Deliveries per second (all web processes together) above which the intake comes first. */
	burstRate: number;
	/** Share of wall time the processor may work during a burst, in (0, 1]; 1 turns the priority off. */
	share: number;
	/** The most a pending delivery may wait before the processor ignores the burst. */
	maxLagMs: number;
}

/** The longest rest after one round (a sanity bound: a round's work times (1 - share) / share). */
export const MAX_REST_MS = 10_000;
/** A rest is taken in slices this long, re-reading the arrivals after each: a burst that ends ends the rest. */
export const REST_SLICE_MS = 1000;
/** Arrival rates are measured over at least this long; shorter gaps keep the previous figure. */
const MIN_SAMPLE_MS = 200;

export class IntakePriority {
	private last: { at: number; seq: number } | null = null;
	private rate = 0;

	constructor(readonly options: IntakePriorityOptions) {
		if (!(options.share > 0 && options.share <= 1)) throw new Error(`share must be in (0, 1], got ${options.share}`);
	}

	/** Deliveries per second over the last measured interval. */
	get arrivalRate(): number {
		return this.rate;
	}

	/** Records the inbox id counter (it counts every delivery written, duplicates included) read at `atMs`. */
	observe(atMs: number, seq: number): void {
		if (!this.last || seq < this.last.seq) {
			this.last = { at: atMs, seq };
			return;
		}
		const elapsed = atMs - this.last.at;
		if (elapsed < MIN_SAMPLE_MS) return;
		this.rate = ((seq - this.last.seq) * 1000) / elapsed;
		this.last = { at: atMs, seq };
	}

	/** True while deliveries arrive faster than the burst rate. */
	get inBurst(): boolean {
		return this.options.share < 1 && this.rate >= this.options.burstRate;
	}

	/** True while the processor should rest: a burst arrives and the oldest pending delivery is within maxLagMs. */
	shouldRest(oldestPendingAgeMs: number | null): boolean {
		return this.inBurst && oldestPendingAgeMs !== null && oldestPendingAgeMs < this.options.maxLagMs;
	}

	/**
	 * How long the processor rests after a round that worked `workMs`, given the age of the oldest pending
	 * delivery (null: the inbox is empty). 0 outside a burst, and once the backlog is maxLagMs old.
	 */
	restAfter(workMs: number, oldestPendingAgeMs: number | null): number {
		if (!this.shouldRest(oldestPendingAgeMs)) return 0;
		const { share } = this.options;
		return Math.min(MAX_REST_MS, Math.max(0, (workMs * (1 - share)) / share));
	}
}
