import { env } from '../../env';
import { processShutdownSignal, runInboxProcessorLoop } from '../../ingest/loops';
import { jobActor } from '../../services/context';
import { releaseQuarantinedBatch } from '../../services/quarantine/index';
import { sendJob } from '../boss';
import type { JobHandler } from './index';

/** How long one job drains the inbox before handing over to its successor (bounds a graceful stop). */
export const INBOX_LOOP_MS = 20_000;

// One job = one bounded run of the inbox processor. The run that holds the lease queues its successor to start
// just before it ends, so processing is continuous; the cron restarts the chain if a worker died with it.
export const webhookProcessHandler: JobHandler<'webhook.process'> = {
	name: 'webhook.process',
	options: { batchSize: 1, pollingIntervalSeconds: 0.5 },
	cron: '* * * * *',
	startOnBoot: true,
	async handle(_payloads, deps) {
		const e = env();
		await runInboxProcessorLoop(
			{
				db: deps.db,
				releaseQuarantined: async (ctx) =>
					(await releaseQuarantinedBatch({ ctx: { ...ctx, actor: jobActor('webhook.process') }, input: { limit: 500 } })).released
			},
			{
				signal: processShutdownSignal(),
				durationMs: INBOX_LOOP_MS,
				intakePriority: { burstRate: e.INBOX_BURST_RATE, share: e.INBOX_BURST_PROCESSING_SHARE, maxLagMs: e.INBOX_MAX_LAG_SECONDS * 1000 },
				onLease: async () => {
					await sendJob(deps.boss, 'webhook.process', {}, { startAfter: Math.max(1, INBOX_LOOP_MS / 1000 - 2) });
				}
			}
		);
	}
};
