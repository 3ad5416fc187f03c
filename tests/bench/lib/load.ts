import { fileURLToPath } from 'node:url';
import type { LoadConfig, LoadMessage, LoadResult } from './load-generator';
import { forkTs, nextMessage, stopChild } from './processes';

const GENERATOR = fileURLToPath(new URL('./load-generator.ts', import.meta.url));

export interface LoadPhaseHooks {
	/** Accepted deliveries (id, answer time in epoch ms) as they happen, when `config.sampleEvery` > 0. */
	onSamples?: (items: Array<[string, number]>) => void;
	/** Called (by timer, so within a few ms) when the measured window opens and closes. */
	onWindowStart?: (generatorPid: number) => void;
	onWindowEnd?: (generatorPid: number) => void;
}

/** Runs one load phase in a fresh generator process and returns its figures. */
export async function runLoadPhase(config: LoadConfig, hooks: LoadPhaseHooks = {}): Promise<LoadResult> {
	const child = forkTs(`load generator (${config.phase})`, GENERATOR);
	const timers: NodeJS.Timeout[] = [];
	try {
		child.on('message', (m: LoadMessage) => {
			if (m.type === 'samples') hooks.onSamples?.(m.items);
		});
		const ready = nextMessage<Extract<LoadMessage, { type: 'ready' }>>(child, 'ready', 60_000);
		child.send({ type: 'start', config });
		await ready;
		const pid = child.pid!;
		timers.push(setTimeout(() => hooks.onWindowStart?.(pid), config.warmupMs));
		timers.push(setTimeout(() => hooks.onWindowEnd?.(pid), config.warmupMs + config.durationMs));
		const budget = config.warmupMs + config.durationMs + 120_000;
		const done = await nextMessage<Extract<LoadMessage, { type: 'done' }>>(child, 'done', budget);
		return done.result;
	} finally {
		for (const t of timers) clearTimeout(t);
		await stopChild(child, 5_000);
	}
}
