import { describe, expect, it } from 'vitest';
import { IntakePriority, MAX_REST_MS } from './intake-priority';

const priority = (over: Partial<ConstructorParameters<typeof IntakePriority>[0]> = {}) =>
	new IntakePriority({ burstRate: 1000, share: 0.2, maxLagMs: 60_000, ...over });

/** Feeds arrivals at `perSec` for `seconds`, sampled every 500 ms. */
function arrive(p: IntakePriority, perSec: number, seconds: number, start = { at: 0, seq: 0 }) {
	let { at, seq } = start;
	p.observe(at, seq);
	for (let t = 0; t < seconds * 2; t++) {
		at += 500;
		seq += perSec / 2;
		p.observe(at, seq);
	}
	return { at, seq };
}

describe('IntakePriority', () => {
	it('lets the processor work flat out while deliveries arrive below the burst rate', () => {
		const p = priority();
		arrive(p, 900, 3);
		expect(p.arrivalRate).toBe(900);
		expect(p.inBurst).toBe(false);
		expect(p.restAfter(200, 5_000)).toBe(0);
	});

	it('during a burst, rests so that work is at most its share of the time', () => {
		const p = priority({ share: 0.2 });
		arrive(p, 5000, 3);
		expect(p.inBurst).toBe(true);
		// 100 ms of work, 400 ms of rest: 20 % of the time.
		expect(p.restAfter(100, 5_000)).toBe(400);
		expect(priority({ share: 0.5 }).restAfter(100, 5_000)).toBe(0);
	});

	it('keeps to its share after long rounds too, up to MAX_REST_MS', () => {
		const p = priority({ share: 0.1 });
		arrive(p, 5000, 2);
		expect(p.restAfter(300, 1_000)).toBeCloseTo(2_700);
		expect(p.restAfter(5_000, 1_000)).toBe(MAX_REST_MS);
	});

	it('works flat out once the oldest pending delivery is maxLagMs old, or when the inbox is empty', () => {
		const p = priority({ maxLagMs: 30_000 });
		arrive(p, 5000, 2);
		expect(p.restAfter(100, 29_999)).toBeGreaterThan(0);
		expect(p.restAfter(100, 30_000)).toBe(0);
		expect(p.restAfter(100, null)).toBe(0);
	});

	it('leaves the burst as soon as arrivals slow down', () => {
		const p = priority();
		const end = arrive(p, 5000, 2);
		expect(p.inBurst).toBe(true);
		arrive(p, 100, 1, end);
		expect(p.arrivalRate).toBe(100);
		expect(p.restAfter(100, 5_000)).toBe(0);
	});

	it('keeps the last rate for readings too close together, and restarts after the counter goes back', () => {
		const p = priority();
		p.observe(0, 0);
		p.observe(1000, 3000);
		expect(p.arrivalRate).toBe(3000);
		p.observe(1050, 3001); // 50 ms later: too short to measure
		expect(p.arrivalRate).toBe(3000);
		p.observe(2000, 10); // a reset counter (restored database): a new baseline, no negative rate
		expect(p.arrivalRate).toBe(3000);
		p.observe(3000, 510);
		expect(p.arrivalRate).toBe(500);
	});

	it('share 1 turns the priority off; a share outside (0, 1] is refused', () => {
		const p = priority({ share: 1 });
		arrive(p, 50_000, 2);
		expect(p.inBurst).toBe(false);
		expect(p.restAfter(100, 1_000)).toBe(0);
		expect(() => priority({ share: 0 })).toThrow(/share/);
		expect(() => priority({ share: 1.5 })).toThrow(/share/);
	});
});
