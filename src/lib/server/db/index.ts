import { env } from '../env';
import { createDb, type DbHandle } from './client';

export * from './client';

let handle: DbHandle | undefined;

/** The process-wide pool (web or worker). Tests build their own with createDb. */
export function getDb(): DbHandle {
	if (!handle) {
		const h = (handle = createDb(env().DATABASE_URL, { max: 20 }));
		// adapter-node stops accepting requests on SIGTERM/SIGINT, then waits for the event loop to drain:
		// idle pool connections would keep it alive forever.
		process.once('sveltekit:shutdown' as 'exit', () => void h.close());
	}
	return handle;
}
