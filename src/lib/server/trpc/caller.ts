import { error, fail, redirect, type RequestEvent } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { ZodError } from 'zod';
import { createCallerFactory, createContext } from './init';
import { appRouter } from './root';

// Pages call the same procedures as API clients, through a server-side caller, so the ladder in init.ts is the
// one place access is decided. (Used by routes only; the worker never imports SvelteKit.)
const createCaller = createCallerFactory(appRouter);

export function serverCaller(event: RequestEvent) {
	return createCaller(createContext(event));
}

function readableMessage(err: TRPCError): string {
	if (err.cause instanceof ZodError) {
		const issue = err.cause.issues[0];
		return issue ? `${issue.path.join('.') || 'input'}: ${issue.message}` : 'Invalid input';
	}
	return err.message;
}

/** In a load function: UNAUTHORIZED signs the user in again, other 4xx become the page's error. */
export function throwLoadFailure(err: unknown, url: URL): never {
	if (err instanceof TRPCError) {
		if (err.code === 'UNAUTHORIZED') redirect(303, `/login?redirectTo=${encodeURIComponent(url.pathname + url.search)}`);
		const status = getHTTPStatusCodeFromError(err);
		if (status < 500) error(status, readableMessage(err));
	}
	throw err;
}

/** In a form action: expected failures become `fail(status, { message, ...extra })`; anything else is rethrown. */
export function actionFailure<E extends Record<string, unknown> = Record<never, never>>(err: unknown, extra?: E) {
	if (err instanceof TRPCError) {
		if (err.code === 'UNAUTHORIZED') redirect(303, '/login');
		const status = getHTTPStatusCodeFromError(err);
		if (status < 500) return fail(status, { ...(extra as E), message: readableMessage(err) });
	}
	throw err;
}

/** A form field as an optional string: absent and empty both read as undefined. */
export function optionalFormField(form: FormData, name: string): string | undefined {
	const v = form.get(name);
	return v === null || v === '' ? undefined : String(v);
}
