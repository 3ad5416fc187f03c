import PgBoss from 'pg-boss';
import type { Db } from '../db/client';
import { unsafeQuery } from '../db/client';
import { JOBS, type JobName, type JobPayload } from './names';

// Sending a job from the web process without starting pg-boss there (no supervisor, no extra pool): the boss
// instance only builds the INSERT, which runs on our own connection. Queues are created by the worker at start.
let sender: PgBoss | undefined;

function jobSender(): PgBoss {
	// Never started: the connection string is only read by start(), which this process never calls.
	sender ??= new PgBoss({ connectionString: 'postgres://unused', schema: 'pgboss', supervise: false, schedule: false });
	return sender;
}

export async function enqueueJob<N extends JobName>(db: Db, name: N, payload: JobPayload<N>, options: PgBoss.SendOptions = {}): Promise<string | null> {
	return jobSender().send(name, JOBS[name].parse(payload) as object, {
		...options,
		db: { executeSql: async (text: string, values: unknown[]) => ({ rows: await unsafeQuery(db, text, values.map(asText)) }) }
	} as PgBoss.SendOptions);
}

/** pg-boss's parameters in PostgreSQL text form (it passes undefined for unset options, numbers for text columns). */
function asText(v: unknown): string | null {
	if (v === undefined || v === null) return null;
	if (v instanceof Date) return v.toISOString();
	if (typeof v === 'object') return JSON.stringify(v);
	return String(v);
}
