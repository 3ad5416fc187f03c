import { redirect } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { z } from 'zod';
import { isIsoDay } from '$lib/days';
import { KNOWN_CONVERSATION_STATUSES } from '$lib/server/elevenlabs/types';
import { DOMAIN_ERROR_CODES, DomainError } from '$lib/server/errors';
import { exportCalls } from '$lib/server/services/calls/export';
import { createContext, requireTenantScope } from '$lib/server/trpc/init';
import type { RequestHandler } from './$types';

// GET /calls/export.csv?from&to&q&status: every call of the dashboard's filter as a CSV download, streamed.
// A plain endpoint rather than a procedure because the answer is a file; access is the tenant rung's own check.

const isoDay = z.string().refine(isIsoDay, { message: 'expected a date as YYYY-MM-DD' });
const exportCallsQuery = z.object({
	from: isoDay.optional(),
	to: isoDay.optional(),
	q: z.string().trim().max(100).optional(),
	status: z.enum(KNOWN_CONVERSATION_STATUSES).optional()
});

const plain = (status: number, message: string) => new Response(`${message}\n`, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });

export const GET: RequestHandler = async (event) => {
	const ctx = createContext(event);
	const { user } = ctx;
	if (!user || !ctx.actor) redirect(303, `/login?redirectTo=${encodeURIComponent(event.url.pathname + event.url.search)}`);

	const params = Object.fromEntries([...event.url.searchParams].filter(([, v]) => v !== ''));
	const parsed = exportCallsQuery.safeParse(params);
	if (!parsed.success) {
		const issue = parsed.error.issues[0];
		return plain(400, `${issue.path.join('.') || 'query'}: ${issue.message}`);
	}
	try {
		const scope = await requireTenantScope({ ...ctx, user }, 'tenant:read');
		const { q, ...rest } = parsed.data;
		const { fileName, stream } = exportCalls({ ctx: { db: ctx.db, ch: ctx.ch, actor: ctx.actor, requestIp: ctx.requestIp, ...scope }, input: { ...rest, search: q } });
		return new Response(stream, {
			headers: {
				'content-type': 'text/csv; charset=utf-8',
				'content-disposition': `attachment; filename="${fileName}"`,
				'cache-control': 'private, no-store'
			}
		});
	} catch (err) {
		if (err instanceof TRPCError) return plain(getHTTPStatusCodeFromError(err), err.message);
		if (err instanceof DomainError) return plain(DOMAIN_ERROR_CODES[err.code].http, err.message);
		throw err;
	}
};
