import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { createContext } from '$lib/server/trpc/init';
import { appRouter } from '$lib/server/trpc/root';
import type { RequestHandler } from './$types';

const handler: RequestHandler = (event) =>
	fetchRequestHandler({
		endpoint: '/api/trpc',
		req: event.request,
		router: appRouter,
		createContext: () => createContext(event),
		// API responses are per-user; never let a shared cache keep one.
		responseMeta: () => ({ headers: new Headers({ 'cache-control': 'no-store' }) })
	});

export const GET = handler;
export const POST = handler;
