import { initTRPC, TRPCError } from '@trpc/server';
import type { RequestEvent } from '@sveltejs/kit';
import superjson from 'superjson';
import { ZodError } from 'zod';
import type { ClickHouseClient } from '@clickhouse/client';
import { getClickHouse } from '../analytics/client';
import { can, type Capability, type EffectiveRole } from '../auth/permissions';
import { validateSessionToken, type AuthSession, type SessionUser } from '../auth/session';
import type { DbOrTx } from '../db/client';
import { getDb } from '../db/index';
import { toTRPCError } from '../errors';
import { log } from '../log';
import { reportFailure, reportSuccess } from '../outage';
import { userActor, type Actor, type TenantRef } from '../services/context';
import { resolveTenantAccess, type TenantAccess } from '../services/tenants/access';

// ---------------------------------------------------------------------------------------------------------------
// Context: who is calling, on which connection, in which tenant (not yet checked: the tenant rung checks it).

/** API callers may name the tenant by slug in this header, overriding the session's active tenant. */
export const TENANT_HEADER = 'x-voxcalls-tenant';

export interface Context {
	db: DbOrTx;
	/** ClickHouse, for the verbs that read analytics (the process-wide client unless the caller brings one). */
	ch: ClickHouseClient;
	user: SessionUser | null;
	session: AuthSession | null;
	/** The tenant the session's switcher points at. */
	activeTenantId: string | null;
	/** A tenant named by slug in the x-voxcalls-tenant header; wins over activeTenantId. */
	requestedTenantSlug: string | null;
	requestIp: string | null;
	actor: Actor | null;
	/** Per-request memo: the tenant rung queries membership once, however many procedures a batch calls. */
	memo: { tenantAccess?: Promise<TenantAccess> };
}

export interface ContextInput {
	db: DbOrTx;
	/** Defaults to the process-wide client (getClickHouse: created on first use, no connection until a query). */
	ch?: ClickHouseClient;
	auth: { user: SessionUser; session: AuthSession } | null;
	requestIp?: string | null;
	requestedTenantSlug?: string | null;
}

/** The one way a Context is made: the HTTP adapter, server-side page callers and tests all come through here. */
export function buildContext(input: ContextInput): Context {
	const user = input.auth?.user ?? null;
	return {
		db: input.db,
		ch: input.ch ?? getClickHouse(),
		user,
		session: input.auth?.session ?? null,
		activeTenantId: input.auth?.session.activeTenantId ?? null,
		requestedTenantSlug: input.requestedTenantSlug?.trim().toLowerCase() || null,
		requestIp: input.requestIp ?? null,
		actor: user ? userActor(user) : null,
		memo: {}
	};
}

/** Context for a SvelteKit request; hooks.server.ts has already validated the session cookie into locals. */
export function createContext(event: RequestEvent): Context {
	const { user, session } = event.locals;
	return buildContext({
		db: getDb().db,
		auth: user && session ? { user, session } : null,
		requestIp: event.getClientAddress(),
		requestedTenantSlug: event.request.headers.get(TENANT_HEADER)
	});
}

/**
 * Context for a session token, validated exactly as the cookie is on a web request. Tests use it with a session
 * they started for a user; anything that holds a token (scripts, API clients) can too.
 */
export async function createContextForSession(args: {
	db: DbOrTx;
	ch?: ClickHouseClient;
	sessionToken: string | null;
	requestIp?: string | null;
	requestedTenantSlug?: string | null;
}): Promise<Context> {
	const auth = args.sessionToken ? await validateSessionToken(args.db, args.sessionToken) : null;
	return buildContext({ db: args.db, ch: args.ch, auth, requestIp: args.requestIp, requestedTenantSlug: args.requestedTenantSlug });
}

// ---------------------------------------------------------------------------------------------------------------
// Initialisation.

const t = initTRPC.context<Context>().create({
	transformer: superjson,
	isDev: process.env.NODE_ENV === 'development',
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

const API_COMPONENT = 'api';

// Domain errors become their tRPC code once, here; unknown errors become a generic message, logged with the cause.
const errorMapping = t.middleware(async ({ next, path }) => {
	const res = await next();
	if (res.ok) {
		reportSuccess(API_COMPONENT);
		return res;
	}
	// tRPC wraps anything that is not a TRPCError as INTERNAL_SERVER_ERROR with the original as its cause.
	const original = res.error.code === 'INTERNAL_SERVER_ERROR' && res.error.cause ? res.error.cause : res.error;
	const mapped = toTRPCError(original);
	// PostgreSQL being away is an outage, summarised once by the reporter rather than a stack per call.
	if (mapped.code === 'INTERNAL_SERVER_ERROR' && !reportFailure(API_COMPONENT, original, 'procedure calls failed')) log.error('procedure failed', { path, err: original });
	throw mapped;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

// ---------------------------------------------------------------------------------------------------------------
// The ladder: public → authed → platform admin | tenant (membership resolved once, capability checked).

export const publicProcedure = t.procedure.use(errorMapping);

/** A signed-in user: narrows ctx.user, ctx.session and ctx.actor. UNAUTHORIZED otherwise. */
export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
	if (!ctx.user || !ctx.session) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first' });
	return next({ ctx: { user: ctx.user, session: ctx.session, actor: userActor(ctx.user) } });
});

/** Platform-wide administration (all tenants). FORBIDDEN for everyone else. */
export const platformAdminProcedure = authedProcedure.use(({ ctx, next }) => {
	if (!ctx.user.isPlatformAdmin) throw new TRPCError({ code: 'FORBIDDEN', message: 'Platform admins only' });
	return next();
});

/**
 * Finance across every tenant (statements of all tenants, closing a month, rates). Platform admins today: the one
 * place to widen when a platform-level finance role exists (see README, finance).
 */
export const platformFinanceProcedure = platformAdminProcedure;

/**
 * The tenant a signed-in request acts in and the caller's role there, with the capability checked: the rung of
 * tenantProcedure, and the same check for plain endpoints (CSV downloads) that cannot be procedures. Throws
 * TRPCError (FORBIDDEN, NOT_FOUND) as the ladder does.
 */
export async function requireTenantScope(
	ctx: Context & { user: SessionUser },
	capability: Capability = 'tenant:read'
): Promise<{ tenant: TenantRef; role: EffectiveRole }> {
	ctx.memo.tenantAccess ??= resolveTenantAccess(ctx.db, {
		user: ctx.user,
		tenantId: ctx.activeTenantId,
		tenantSlug: ctx.requestedTenantSlug
	});
	const access = await ctx.memo.tenantAccess;
	if (!access.ok) {
		if (access.reason === 'no-tenant-selected') throw new TRPCError({ code: 'FORBIDDEN', message: 'Choose a tenant first' });
		throw new TRPCError({ code: 'NOT_FOUND', message: 'Tenant not found' });
	}
	// Suspension locks members out of reads and writes alike; platform admins keep access to repair things.
	if (access.tenant.status === 'suspended' && access.role !== 'platform_admin') {
		throw new TRPCError({ code: 'FORBIDDEN', message: 'This tenant is suspended' });
	}
	if (!can(access.role, capability)) throw new TRPCError({ code: 'FORBIDDEN', message: 'Your role does not allow this' });
	return { tenant: access.tenant, role: access.role };
}

/**
 * Tenant-scoped procedures: ctx.tenant and ctx.role are resolved from the session's active tenant (or the
 * x-voxcalls-tenant header), and the role must hold `capability` (see auth/permissions.ts). Service verbs take
 * the tenant from ctx, never from input.
 */
export function tenantProcedure(capability: Capability = 'tenant:read') {
	return authedProcedure.use(async ({ ctx, next }) => next({ ctx: await requireTenantScope(ctx, capability) }));
}
