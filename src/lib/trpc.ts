import { createTRPCClient, httpBatchLink } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from './server/trpc/root';

/** Typed tRPC client for the browser (or SSR with SvelteKit's fetch). */
export function trpc(fetchImpl: typeof fetch = fetch, base = '') {
	return createTRPCClient<AppRouter>({
		links: [httpBatchLink({ url: `${base}/api/trpc`, transformer: superjson, fetch: fetchImpl })]
	});
}
