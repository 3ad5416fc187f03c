import { env } from '../../env';
import { processShutdownSignal, runOutboxRelayLoop } from '../../ingest/loops';
import { sendJob } from '../boss';
import type { JobHandler } from './index';

/** How long one job relays before handing over to its successor (bounds a graceful stop). */
export const RELAY_LOOP_MS = 20_000;

// One job = one bounded run of the outbox relay, chained like webhook.process; only one relay runs at a time.
export const outboxRelayHandler: JobHandler<'outbox.relay'> = {
	name: 'outbox.relay',
	options: { batchSize: 1, pollingIntervalSeconds: 0.5 },
	cron: '* * * * *',
	startOnBoot: true,
	async handle(_payloads, deps) {
		const e = env();
		await runOutboxRelayLoop(
			{ db: deps.db, ch: deps.ch },
			{
				signal: processShutdownSignal(),
				durationMs: RELAY_LOOP_MS,
				batchRows: e.OUTBOX_BATCH_ROWS,
				batchMs: e.OUTBOX_BATCH_MS,
				onLease: async () => {
					await sendJob(deps.boss, 'outbox.relay', {}, { startAfter: Math.max(1, RELAY_LOOP_MS / 1000 - 2) });
				}
			}
		);
	}
};
