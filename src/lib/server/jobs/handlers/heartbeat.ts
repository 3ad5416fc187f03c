import { hostname } from 'node:os';
import { sql } from 'drizzle-orm';
import type { JobHandler } from './index';

export async function stampWorkerHeartbeat(deps: { db: { db: import('../../db/client').Db }; workerId: string }) {
	await deps.db.db.execute(sql`
		insert into worker_heartbeat (worker_id, hostname, seen_at) values (${deps.workerId}, ${hostname()}, now())
		on conflict (worker_id) do update set seen_at = now()`);
}

export const heartbeatHandler: JobHandler<'system.heartbeat'> = {
	name: 'system.heartbeat',
	async handle(_payloads, deps) {
		await stampWorkerHeartbeat(deps);
	}
};
