import { json } from '@sveltejs/kit';
import { getClickHouse } from '$lib/server/analytics/client';
import { getDb } from '$lib/server/db/index';
import { checkHealth } from '$lib/server/health';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async () => {
	const health = await checkHealth({ sql: getDb().sql, ch: getClickHouse() });
	return json(health, { status: health.ok ? 200 : 503, headers: { 'cache-control': 'no-store' } });
};
