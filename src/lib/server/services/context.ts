import type { ClickHouseClient } from '@clickhouse/client';
import type { EffectiveRole } from '../auth/permissions';
import type { DbOrTx } from '../db/client';
import type { TenantStatus } from '../db/schema/index';
import { DomainError } from '../errors';
import type { IngestCtx } from '../ingest/context';

// What every service verb receives as `ctx`. tRPC contexts, form actions, webhooks and jobs all build one.

/** Who is acting: a signed-in user, or the system itself (a job, the demo seeder). */
export type Actor =
	| { kind: 'user'; userId: string; email: string; isPlatformAdmin: boolean }
	| { kind: 'system'; name: string };

export interface ServiceCtx extends IngestCtx {
	db: DbOrTx;
	actor: Actor;
	requestIp?: string | null;
}

export interface TenantRef {
	id: string;
	name: string;
	slug: string;
	timezone: string;
	defaultCountry: string;
	status: TenantStatus;
}

/** A service context inside one tenant: the tenant comes from here, never from input. */
export interface TenantServiceCtx extends ServiceCtx {
	tenant: TenantRef;
	role: EffectiveRole;
}

/** Verbs that read ClickHouse get its client from the request context (tRPC's, a job's, a test's), not a singleton. */
export interface AnalyticsCtx {
	ch: ClickHouseClient;
}

export function userActor(user: { id: string; email: string; isPlatformAdmin: boolean }): Actor {
	return { kind: 'user', userId: user.id, email: user.email, isPlatformAdmin: user.isPlatformAdmin };
}

export function systemActor(name: string): Actor {
	return { kind: 'system', name };
}

export function actorLabel(actor: Actor): string {
	return actor.kind === 'user' ? actor.email : `system:${actor.name}`;
}

export function actorUserId(actor: Actor): string | null {
	return actor.kind === 'user' ? actor.userId : null;
}

export const jobActor = (job: string): Actor => systemActor(`job:${job}`);
export const webhookActor = (connectionId: string): Actor => systemActor(`webhook:${connectionId}`);

/** Users reach ingestion verbs only as platform admins (the tRPC rung checks it too; this guards other adapters). */
export function assertPlatformActor(actor: Actor): void {
	if (actor.kind === 'user' && !actor.isPlatformAdmin) throw new DomainError('FORBIDDEN', 'Platform admins only');
}
