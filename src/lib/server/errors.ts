import { TRPCError } from '@trpc/server';

// Expected failures of the domain. One closed set of codes, one mapping to tRPC and HTTP.
export const DOMAIN_ERROR_CODES = {
	BAD_INPUT: { trpc: 'BAD_REQUEST', http: 400 },
	UNAUTHENTICATED: { trpc: 'UNAUTHORIZED', http: 401 },
	FORBIDDEN: { trpc: 'FORBIDDEN', http: 403 },
	NOT_FOUND: { trpc: 'NOT_FOUND', http: 404 },
	CONFLICT: { trpc: 'CONFLICT', http: 409 },
	PAYLOAD_TOO_LARGE: { trpc: 'PAYLOAD_TOO_LARGE', http: 413 },
	RATE_LIMITED: { trpc: 'TOO_MANY_REQUESTS', http: 429 },
	UNAVAILABLE: { trpc: 'INTERNAL_SERVER_ERROR', http: 503 }
} as const;

export type DomainErrorCode = keyof typeof DOMAIN_ERROR_CODES;

export class DomainError extends Error {
	override name = 'DomainError';
	constructor(
		readonly code: DomainErrorCode,
		message: string,
		readonly details?: Record<string, unknown>
	) {
		super(message);
	}
}

export function toTRPCError(err: unknown): TRPCError {
	if (err instanceof TRPCError) return err;
	if (err instanceof DomainError) {
		return new TRPCError({ code: DOMAIN_ERROR_CODES[err.code].trpc, message: err.message, cause: err });
	}
	// Unknown errors reach the client as a generic message; the cause stays in the server log.
	return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Something went wrong', cause: err });
}

/** The HTTP status of an expected failure (plain endpoints: uploads, downloads); anything else is a 500. */
export function httpStatusOf(err: unknown): number {
	return err instanceof DomainError ? DOMAIN_ERROR_CODES[err.code].http : 500;
}
