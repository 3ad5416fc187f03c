import { fail } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { DomainError, DOMAIN_ERROR_CODES } from '../errors';
import { actionFailure } from './caller';

// Provider outages are expected failures of admin actions (503: "ElevenLabs could not be reached…"), so the
// form shows their message instead of the generic error page that actionFailure leaves 5xx to.
export function providerActionFailure<E extends Record<string, unknown> = Record<never, never>>(err: unknown, extra?: E) {
	if (err instanceof TRPCError && err.cause instanceof DomainError && err.cause.code === 'UNAVAILABLE') {
		return fail(DOMAIN_ERROR_CODES.UNAVAILABLE.http, { ...(extra as E), message: err.cause.message });
	}
	return actionFailure(err, extra);
}

/** The readable message of an expected failure in a load function, or null for anything unexpected. */
export function expectedFailureMessage(err: unknown): string | null {
	if (err instanceof TRPCError && err.cause instanceof DomainError) return err.cause.message;
	if (err instanceof TRPCError && err.code !== 'INTERNAL_SERVER_ERROR') return err.message;
	return null;
}
