import { resolve } from 'node:path';
import { json } from '@sveltejs/kit';
import { isIsoDay } from '$lib/days';
import { getDb } from '$lib/server/db/index';
import { env } from '$lib/server/env';
import { DomainError, httpStatusOf } from '$lib/server/errors';
import { log } from '$lib/server/log';
import { uploadMailDrop } from '$lib/server/services/campaigns/drops';
import { tenantContextForRequest } from '$lib/server/services/tenants/request-context';
import type { RequestHandler } from './$types';

// A recipients CSV as the raw request body (no multipart: the body streams straight to storage). The file name and
// the drop's sent date come in the query. Answers the new drop (awaiting its column mapping) or { message }.
// Bodies above adapter-node's BODY_SIZE_LIMIT are cut off before they reach here: set it to at least
// RECIPIENT_UPLOAD_MAX_BYTES (see README).
export const POST: RequestHandler = async (event) => {
	const q = event.url.searchParams;
	// SvelteKit's CSRF check covers form content types only; this body is text/csv, so check the origin here.
	const origin = event.request.headers.get('origin');
	if (origin !== null && origin !== event.url.origin) return json({ message: 'Cross-site uploads are forbidden' }, { status: 403 });
	try {
		const ctx = await tenantContextForRequest(
			getDb().db,
			{ user: event.locals.user, activeTenantId: event.locals.session?.activeTenantId ?? null, requestIp: event.getClientAddress() },
			'campaigns:write'
		);
		const sentOn = q.get('sentOn') ?? '';
		if (!isIsoDay(sentOn)) throw new DomainError('BAD_INPUT', 'Give the day the mail was sent (YYYY-MM-DD)');
		if (!event.request.body) throw new DomainError('BAD_INPUT', 'Choose a CSV file to upload');
		const e = env();
		const drop = await uploadMailDrop({
			ctx,
			input: {
				campaignId: event.params.campaignId,
				fileName: q.get('fileName') ?? 'recipients.csv',
				name: q.get('name') ?? undefined,
				sentOn,
				body: event.request.body,
				storageDir: resolve(e.UPLOAD_STORAGE_DIR),
				maxBytes: e.RECIPIENT_UPLOAD_MAX_BYTES
			}
		});
		return json({ dropId: drop.id }, { status: 201 });
	} catch (err) {
		const status = httpStatusOf(err);
		if (status >= 500) log.error('recipient upload failed', { err });
		return json({ message: err instanceof DomainError ? err.message : 'The upload failed; try again' }, { status });
	}
};
