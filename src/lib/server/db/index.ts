import { env } from '../env';
import { createDb, type DbHandle } from './client';

export * from './client';

let handle: DbHandle | undefined;

/** The process-wide pool (web or worker). Tests build their own with createDb. */
export function getDb(): DbHandle {
	handle ??= createDb(env().DATABASE_URL, { max: 20 });
	return handle;
}
