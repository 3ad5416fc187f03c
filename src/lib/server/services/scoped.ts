import { and, eq, type SQL } from 'drizzle-orm';
import type { AnyPgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { DbOrTx } from '../db/client';
import { DomainError } from '../errors';

// Every tenant-owned read by id goes through here: the row must belong to the caller's tenant, or it does not
// exist as far as the caller is concerned (NOT_FOUND, never FORBIDDEN, so ids of other tenants reveal nothing).
type TenantOwnedTable = PgTable & { tenantId: AnyPgColumn };

export async function fetchTenantOwnedOrThrow<T extends TenantOwnedTable>(
	db: DbOrTx,
	table: T,
	tenantId: string,
	match: SQL | undefined,
	what: string,
	opts: { forUpdate?: boolean } = {}
): Promise<T['$inferSelect']> {
	// drizzle cannot type a select over a generic table; the row shape is exactly T's select model.
	const q = (db as DbOrTx)
		.select()
		.from(table as PgTable)
		.where(and(eq(table.tenantId, tenantId), match))
		.limit(1);
	const rows = (await (opts.forUpdate ? q.for('update') : q)) as T['$inferSelect'][];
	if (rows.length === 0) throw new DomainError('NOT_FOUND', `${what} not found`);
	return rows[0];
}
