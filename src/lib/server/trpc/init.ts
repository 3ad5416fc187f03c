import { initTRPC } from '@trpc/server';
import superjson from 'superjson';
import { ZodError } from 'zod';
import type { Db } from '../db/client';
import { toTRPCError } from '../errors';
import { log } from '../log';

export interface Context {
	db: Db;
}

const t = initTRPC.context<Context>().create({
	transformer: superjson,
	errorFormatter({ shape, error }) {
		return {
			...shape,
			data: {
				...shape.data,
				zodError: error.cause instanceof ZodError ? error.cause.issues : null
			}
		};
	}
});

// Map domain errors once; unknown errors become a generic message and are logged with their cause.
const errorMapping = t.middleware(async ({ next, path }) => {
	const res = await next();
	if (!res.ok) {
		const mapped = toTRPCError(res.error.cause ?? res.error);
		if (mapped.code === 'INTERNAL_SERVER_ERROR') log.error('procedure failed', { path, err: res.error.cause ?? res.error });
	}
	return res;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(errorMapping);
