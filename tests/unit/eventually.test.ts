import { describe, expect, it } from 'vitest';
import { eventually } from '../setup/eventually';

describe('eventually', () => {
	it('returns the value of the first attempt that passes', async () => {
		let attempts = 0;
		const value = await eventually(() => (++attempts < 3 ? false : `ready after ${attempts}`), { intervalMs: 1 });
		expect(value).toBe('ready after 3');
	});

	it('retries a failing assertion and rethrows its last failure, naming what was awaited', async () => {
		let n = 0;
		const failure = await eventually(() => expect(++n).toBe(-1), { what: 'n to be -1', timeoutMs: 50, intervalMs: 5 }).catch((e: Error) => e);
		expect(failure).toBeInstanceOf(Error);
		expect((failure as Error).message).toMatch(/^eventually: n to be -1 did not hold within 50 ms \(\d+ attempts\); last failure: expected \d+ to be -1/);
		expect(n).toBeGreaterThan(1);
	});

	it('says so when a predicate kept returning false', async () => {
		await expect(eventually(() => false, { what: 'the flag', timeoutMs: 20, intervalMs: 5 })).rejects.toThrow(
			/eventually: the flag did not hold within 20 ms .*the check kept returning false/
		);
	});
});
