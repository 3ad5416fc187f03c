// The one way tests wait for something asynchronous: poll a check until it holds, within a generous deadline.
// The deadline is a functional limit (something is broken if it passes), never a timing assertion.

export interface EventuallyOptions {
	/** What is awaited, for the failure message ("the outbox to drain"). */
	what?: string;
	/** Give up after this many milliseconds. */
	timeoutMs?: number;
	/** Pause between attempts. */
	intervalMs?: number;
}

/**
 * Runs `check` until it passes: it neither throws nor returns `false` (an `expect` inside it or a predicate both
 * work). Returns the passing attempt's value. On timeout, rethrows the last failure (an assertion keeps its diff),
 * its message prefixed with what was awaited and for how long.
 */
export async function eventually<T>(check: () => T | Promise<T>, opts: EventuallyOptions = {}): Promise<Exclude<T, false>> {
	const { what = 'the condition', timeoutMs = 30_000, intervalMs = 100 } = opts;
	const started = Date.now();
	let attempts = 0;
	let last: unknown;
	for (;;) {
		attempts++;
		try {
			const value = await check();
			if (value !== false) return value as Exclude<T, false>;
			last = undefined;
		} catch (err) {
			last = err;
		}
		const elapsed = Date.now() - started;
		if (elapsed >= timeoutMs) {
			const prefix = `eventually: ${what} did not hold within ${timeoutMs} ms (${attempts} attempts)`;
			if (last instanceof Error) {
				last.message = `${prefix}; last failure: ${last.message}`;
				throw last;
			}
			throw new Error(last === undefined ? `${prefix}; the check kept returning false` : `${prefix}; last failure: ${String(last)}`);
		}
		await new Promise((r) => setTimeout(r, Math.min(intervalMs, timeoutMs - elapsed)));
	}
}
