import { error } from '@sveltejs/kit';
import { getDb } from '$lib/server/db/index';
import { DomainError, httpStatusOf } from '$lib/server/errors';
import { rejectedRowsCsv } from '$lib/server/services/campaigns/drops';
import { tenantContextForRequest } from '$lib/server/services/tenants/request-context';
import type { RequestHandler } from './$types';

// The rejected rows of an import as a CSV download (line, reason, the file's own columns), streamed page by page.
export const GET: RequestHandler = async (event) => {
	let csv;
	try {
		const ctx = await tenantContextForRequest(
			getDb().db,
			{ user: event.locals.user, activeTenantId: event.locals.session?.activeTenantId ?? null, requestIp: event.getClientAddress() },
			'tenant:read'
		);
		csv = await rejectedRowsCsv({ ctx, input: { dropId: event.params.dropId } });
	} catch (err) {
		if (err instanceof DomainError) error(httpStatusOf(err), err.message);
		throw err;
	}
	const it = csv.chunks[Symbol.asyncIterator]();
	const body = new ReadableStream<Uint8Array>({
		async pull(controller) {
			const next = await it.next();
			if (next.done) controller.close();
			else controller.enqueue(new TextEncoder().encode(next.value));
		},
		async cancel() {
			await it.return?.();
		}
	});
	return new Response(body, {
		headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${csv.fileName}"` }
	});
};
