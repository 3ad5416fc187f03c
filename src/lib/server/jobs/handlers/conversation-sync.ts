import { env } from '../../env';
import { DomainError } from '../../errors';
import { jobActor } from '../../services/context';
import { processShutdownSignal } from '../../ingest/loops';
import { listConnectionsDueForSync, syncConnection, wasPolledSince, withConnectionSyncLock } from '../../ingest/sync';
import { log } from '../../log';
import { sendJob } from '../boss';
import type { JobPayload } from '../names';
import type { JobDeps, JobHandler } from './index';

// Scheduling: pg-boss 10 keeps one cron schedule per queue name, so a single one-minute tick
// (`conversation.sync-tick`) queues a `conversation.sync` run for every enabled connection whose last poll is
// older than POLL_INTERVAL_MINUTES (four intervals after a failure). The singletonKey (the connection) with a
// one-minute slot keeps a tick from queueing it twice; a run queued before the last poll finished is skipped; the
// per-connection lock keeps two runs from overlapping; healthy connections go first. Both queues live in this
// file because they are one job: the tick is only its clock.

/** The tick: find due connections and queue one run each. */
export const conversationSyncTickHandler: JobHandler<'conversation.sync-tick'> = {
	name: 'conversation.sync-tick',
	options: { batchSize: 1, pollingIntervalSeconds: 2 },
	cron: '* * * * *',
	async handle(_payloads, deps) {
		const due = await listConnectionsDueForSync({
			ctx: { db: deps.db.db },
			input: { intervalMinutes: env().POLL_INTERVAL_MINUTES }
		});
		const queuedAt = new Date().toISOString();
		for (const c of due) {
			// Higher runs first: polled fine last time, then never polled, then failing.
			const priority = c.lastPollOk === true ? 2 : c.lastPollOk === null ? 1 : 0;
			await sendJob(deps.boss, 'conversation.sync', { connectionId: c.connectionId, queuedAt }, { singletonKey: c.connectionId, singletonSeconds: 60, priority });
		}
	}
};

async function runSync({ connectionId, queuedAt }: JobPayload<'conversation.sync'>, deps: JobDeps): Promise<void> {
	const ctx = { db: deps.db.db, actor: jobActor('conversation.sync'), signal: processShutdownSignal() };
	try {
		// Queued behind a run that has finished since (a backlog after an outage): nothing for this one to do.
		if (queuedAt && (await wasPolledSince({ ctx, input: { connectionId, since: new Date(queuedAt) } }))) return;
		const r = await withConnectionSyncLock(deps.db.sql, connectionId, (held) =>
			syncConnection({ ctx: { ...ctx, signal: AbortSignal.any([ctx.signal, held.signal]) }, input: { connectionId } })
		);
		if (!r.ran) return log.debug('sync skipped: another run holds the connection', { connectionId });
		const s = r.value;
		// A failed run is recorded on the connection (admin page); the log line is for operators tailing the worker.
		if (s.status === 'failed') log.info('sync failed', { connectionId, error: s.error, counts: s.counts });
		else log.debug('sync done', { connectionId, status: s.status, counts: s.counts, requests: s.requests, ms: s.durationMs });
		// Stopped by its time budget (a long catch-up): the next run continues from the claimed watermark at once.
		if (s.more && !ctx.signal.aborted) await sendJob(deps.boss, 'conversation.sync', { connectionId, queuedAt: new Date().toISOString() }, { priority: 2 });
	} catch (err) {
		// Deleted since it was queued: nothing to do. Anything else is a broken invariant; pg-boss retries the job.
		if (err instanceof DomainError && err.code === 'NOT_FOUND') return;
		throw err;
	}
}

/** One run per connection; a batch's connections sync in parallel, each with its own concurrency cap. */
export const conversationSyncHandler: JobHandler<'conversation.sync'> = {
	name: 'conversation.sync',
	options: { batchSize: 4, pollingIntervalSeconds: 2 },
	async handle(payloads, deps) {
		const byConnection = new Map(payloads.map((p) => [p.connectionId, p]));
		const results = await Promise.allSettled([...byConnection.values()].map((p) => runSync(p, deps)));
		const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
		if (failed) throw failed.reason;
	}
};
