import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { getDb } from '$lib/server/db/index';
import { appRouter } from '$lib/server/trpc/root';
import type { RequestHandler } from './$types';

const handler: RequestHandler = (event) =>
	fetchRequestHandler({
		endpoint: '/api/trpc',
		req: event.request,
		router: appRouter,
		createContext: () => ({ db: getDb().db })
	});

export const GET = handler;
export const POST = handler;
