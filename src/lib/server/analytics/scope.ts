import { ident, joinSql, sql, type ChSql } from './literal';

// The filters every analytics query shares, so no query writes its own `tenant_id = …`. Every table's sort key
// starts with tenant_id, then time: these two fragments are what lets ClickHouse skip everything else.

/** `tenant_id = toUUID('…')`. The id must already be checked in PostgreSQL by the caller's service. */
export function tenantWhere(tenantId: string): ChSql {
	return sql`tenant_id = toUUID(${tenantId})`;
}

/**
 * `column >= start AND column < end` (half-open); either bound may be left out. With neither, an always-true `1`,
 * so the fragment can always follow an AND.
 */
export function rangeWhere(column: string, start?: Date | null, end?: Date | null): ChSql {
	const col = ident(column);
	const parts: ChSql[] = [];
	if (start) parts.push(sql`${col} >= ${start}`);
	if (end) parts.push(sql`${col} < ${end}`);
	return parts.length ? joinSql(parts, ' AND ') : sql`1`;
}
