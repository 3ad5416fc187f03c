import PgBoss from 'pg-boss';
import { JOBS, JOB_NAMES, type JobName, type JobPayload } from './names';

export type { PgBoss };

export function createBoss(databaseUrl: string, opts: { max?: number; supervise?: boolean; schedule?: boolean } = {}): PgBoss {
	return new PgBoss({
		connectionString: databaseUrl,
		schema: 'pgboss',
		max: opts.max ?? 5,
		application_name: 'voxcalls-jobs',
		supervise: opts.supervise ?? true,
		schedule: opts.schedule ?? true
	});
}

/** Starts pg-boss and makes sure every typed queue exists (pg-boss 10 requires queues before send/work). */
export async function startBoss(boss: PgBoss): Promise<PgBoss> {
	await boss.start();
	const existing = new Set((await boss.getQueues()).map((q) => q.name));
	for (const name of JOB_NAMES) {
		if (!existing.has(name)) await boss.createQueue(name, { name, retryLimit: 10, retryDelay: 2, retryBackoff: true, expireInSeconds: 300 });
	}
	return boss;
}

export async function sendJob<N extends JobName>(
	boss: PgBoss,
	name: N,
	payload: JobPayload<N>,
	options: PgBoss.SendOptions = {}
): Promise<string | null> {
	return boss.send(name, JOBS[name].parse(payload) as object, options);
}

/** A recipient import may run for many minutes on a large file. A duplicate job is harmless: the engine serialises per campaign and skips a drop that is no longer queued. */
export const RECIPIENT_IMPORT_JOB_OPTIONS = (dropId: string): PgBoss.SendOptions => ({
	singletonKey: dropId,
	expireInSeconds: 3600,
	retryLimit: 3,
	retryDelay: 10
});
