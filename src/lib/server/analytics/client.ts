import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { z } from 'zod';
import { clickhouseTarget, env } from '../env';
import type { ChSql } from './literal';

export type { ClickHouseClient };

export function createClickHouse(opts: { url: string; database: string; requestTimeoutMs?: number }): ClickHouseClient {
	return createClient({
		url: opts.url,
		database: opts.database,
		request_timeout: opts.requestTimeoutMs ?? 30_000,
		max_open_connections: 20,
		// 18.16 predates several settings newer clients send by default; keep the request plain.
		clickhouse_settings: {}
	});
}

let shared: ClickHouseClient | undefined;

export function getClickHouse(): ClickHouseClient {
	if (!shared) {
		const ch = (shared = createClickHouse(clickhouseTarget(env())));
		process.once('sveltekit:shutdown' as 'exit', () => void ch.close());
	}
	return shared;
}

/** Runs a SELECT built with `sql` and validates each row at the edge. */
export async function queryRows<T>(ch: ClickHouseClient, q: ChSql, row: z.ZodType<T>): Promise<T[]> {
	const rs = await ch.query({ query: q.text, format: 'JSONEachRow' });
	const raw = await rs.json<unknown>();
	return (raw as unknown[]).map((r) => row.parse(r));
}

export async function execute(ch: ClickHouseClient, q: ChSql): Promise<void> {
	await ch.command({ query: q.text });
}
