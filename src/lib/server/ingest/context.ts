import type { ClickHouseClient } from '@clickhouse/client';
import { DomainError } from '../errors';
import { systemActor, type Actor, type ServiceCtx } from '../services/context';

// Ingestion verbs take the house ServiceCtx. Ingestion is platform-level: no tenant is in scope; tenants are
// resolved from the agent mapping, never taken from a caller.
export type IngestCtx = ServiceCtx;

export interface IngestCtxWithClickHouse extends ServiceCtx {
	ch: ClickHouseClient;
}

export const jobActor = (job: string): Actor => systemActor(`job:${job}`);
export const webhookActor = (connectionId: string): Actor => systemActor(`webhook:${connectionId}`);

/** Users reach ingestion verbs only as platform admins (the tRPC rung checks it too; this guards other adapters). */
export function assertPlatformActor(actor: Actor): void {
	if (actor.kind === 'user' && !actor.isPlatformAdmin) throw new DomainError('FORBIDDEN', 'Platform admins only');
}
