import { jobActor } from '../../services/context';
import { log } from '../../log';
import { resumePendingNumbers } from '../../services/numbers/index';
import { reconcileNumbers } from '../../services/numbers/reconcile';
import type { JobHandler } from './index';

// The number lifecycle's retry clock: every minute, advance the numbers whose failed step is due again
// (the verb is idempotent and skips numbers another run holds).
export const numbersResumeHandler: JobHandler<'numbers.resume'> = {
	name: 'numbers.resume',
	options: { batchSize: 1, pollingIntervalSeconds: 2 },
	cron: '* * * * *',
	async handle(_payloads, deps) {
		const results = await resumePendingNumbers({ ctx: { db: deps.db.db, actor: jobActor('numbers.resume') } });
		for (const r of results) if (r.error) log.info('number still failing', { numberId: r.numberId, status: r.status, error: r.error });
	}
};

// Drift report between Twilio, ElevenLabs and our rows; it only reports (admin page), never repairs.
export const numbersReconcileHandler: JobHandler<'numbers.reconcile'> = {
	name: 'numbers.reconcile',
	options: { batchSize: 1, pollingIntervalSeconds: 5 },
	cron: '*/15 * * * *',
	async handle(_payloads, deps) {
		const run = await reconcileNumbers({ ctx: { db: deps.db.db, actor: jobActor('numbers.reconcile') } });
		if (run.drift.length || run.error) log.warn('number drift found', { drift: run.drift.length, error: run.error });
	}
};
