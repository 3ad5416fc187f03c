// The job worker: its own process (`npm run worker`). Web requests only enqueue.
import { randomUUID } from 'node:crypto';
import { getClickHouse } from '../analytics/client';
import { getDb } from '../db/index';
import { env } from '../env';
import { log } from '../log';
import { reportFailure, reportSuccess } from '../outage';
import { createBoss, startBoss } from './boss';
import { handlers, type JobDeps } from './handlers/index';
import { stampWorkerHeartbeat } from './handlers/heartbeat';
import { JOBS } from './names';

/** The job queue's name in outage log lines: pg-boss's errors and the worker heartbeat. */
const QUEUE_COMPONENT = 'job queue';
const HEARTBEAT_MS = 5_000;

export async function runWorker(): Promise<{ stop: () => Promise<void> }> {
	const e = env();
	const workerId = `worker-${process.pid}-${randomUUID().slice(0, 8)}`;
	const db = getDb();
	const ch = getClickHouse();
	const boss = createBoss(e.DATABASE_URL);
	// pg-boss is an EventEmitter: an 'error' without a listener would end the process (pg-boss docs, "Events").
	// It emits one for every failed poll, maintenance or cron round, so during a PostgreSQL outage these are
	// summarised by the outage reporter; it reconnects on its own.
	boss.on('error', (err) => {
		if (!reportFailure(QUEUE_COMPONENT, err, 'job queue errors')) log.error('pg-boss error', { err });
	});
	await startBoss(boss);
	const deps: JobDeps = { db, ch, boss, workerId };

	for (const h of handlers) {
		const schema = JOBS[h.name];
		await boss.work(h.name, { batchSize: 50, pollingIntervalSeconds: 0.5, ...h.options }, async (jobs) => {
			// Payloads are parsed at the edge; a malformed one fails its job loudly instead of half-running.
			await h.handle(jobs.map((j) => schema.parse(j.data)) as never, deps);
		});
		if (h.cron) await boss.schedule(h.name, h.cron, {});
	}
	await stampWorkerHeartbeat(deps);
	// Start the ingestion loops now rather than at the next cron minute (a fresh database has no chain yet);
	// their lease makes a second concurrent run a no-op.
	for (const h of handlers) if (h.startOnBoot) await boss.send(h.name, {});
	// The heartbeat is the queue's sign of life in /healthz; its success also ends a 'job queue' outage, since pg-boss
	// emits only failures.
	const beat = setInterval(
		() =>
			stampWorkerHeartbeat(deps).then(
				() => reportSuccess(QUEUE_COMPONENT),
				(err) => {
					if (!reportFailure(QUEUE_COMPONENT, err, 'job queue errors')) log.warn('heartbeat failed', { err });
				}
			),
		HEARTBEAT_MS
	);
	log.info('worker started', { workerId, queues: handlers.map((h) => h.name) });

	let stopping: Promise<void> | undefined;
	const stop = () =>
		(stopping ??= (async () => {
			clearInterval(beat);
			log.info('worker stopping: finishing in-flight jobs', { workerId });
			// graceful: active jobs finish; any that cannot within the timeout stay active, expire and are retried.
			await boss.stop({ graceful: true, timeout: 30_000, wait: true });
			await db.close();
			await ch.close();
			log.info('worker stopped', { workerId });
		})());
	return { stop };
}

const isMain = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/src\//, '/src/'));
if (isMain) {
	runWorker()
		.then(({ stop }) => {
			const onSignal = (sig: string) => {
				log.info(`received ${sig}`);
				stop().then(
					() => process.exit(0),
					(err) => {
						log.error('shutdown failed', { err });
						process.exit(1);
					}
				);
			};
			process.once('SIGTERM', () => onSignal('SIGTERM'));
			process.once('SIGINT', () => onSignal('SIGINT'));
		})
		.catch((err) => {
			console.error(`[worker] failed to start: ${err instanceof Error ? err.message : String(err)}`);
			process.exit(1);
		});
}
