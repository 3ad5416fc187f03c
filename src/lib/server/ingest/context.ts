import type { DbOrTx } from '../db/client';

// What ingestion verbs receive as `ctx`. Ingestion is platform-level: no tenant is in scope; tenants are resolved
// from the agent mapping, never taken from a caller. Who is acting is the adapters' and services' concern: the
// house ServiceCtx (services/context.ts) extends this one, so a service passes its own ctx straight through.
export interface IngestCtx {
	db: DbOrTx;
}
