import { eq } from 'drizzle-orm';
import type postgres from 'postgres';
import { openSecret } from '../crypto/secrets';
import { CONNECTION_CHANGES_CHANNEL } from '../db/channels';
import type { DbOrTx } from '../db/client';
import { elevenlabsConnection } from '../db/schema/index';
import { env } from '../env';
import { DomainError } from '../errors';
import { boundQuery } from '../outage';
import type { IngestCtx } from './context';

// What ingestion needs of a connection: its opened credentials (sync, backfill) and, on the webhook hot path, its
// secret through a short-lived per-process cache. Creating and changing connections is services/connections.

/** Server-side only: what the sync and the webhook intake need to talk to upstream. */
export interface ConnectionCredentials {
	id: string;
	tenantId: string | null;
	baseUrl: string;
	apiKey: string;
	webhookSecret: string;
	enabled: boolean;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => UUID_RE.test(s);

export const webhookPathFor = (connectionId: string) => `/api/webhooks/elevenlabs/${connectionId}`;

/** Decrypted credentials, for the sync and the backfill (API key). Never send these to a browser. */
export async function readConnectionCredentials({ ctx, input }: { ctx: IngestCtx; input: { connectionId: string } }): Promise<ConnectionCredentials> {
	if (!isUuid(input.connectionId)) throw new DomainError('NOT_FOUND', 'Connection not found');
	const [row] = await ctx.db.select().from(elevenlabsConnection).where(eq(elevenlabsConnection.id, input.connectionId)).limit(1);
	if (!row) throw new DomainError('NOT_FOUND', 'Connection not found');
	return credentialsOf(row);
}

/** Every enabled connection with credentials: what the polling sync iterates over. */
export async function listEnabledConnectionCredentials({ ctx }: { ctx: IngestCtx }): Promise<ConnectionCredentials[]> {
	const rows = await ctx.db.select().from(elevenlabsConnection).where(eq(elevenlabsConnection.enabled, true));
	return rows.map(credentialsOf);
}

function credentialsOf(row: typeof elevenlabsConnection.$inferSelect): ConnectionCredentials {
	const appSecret = env().APP_SECRET;
	return {
		id: row.id,
		tenantId: row.tenantId,
		baseUrl: row.baseUrl,
		apiKey: openSecret(row.apiKeySealed, appSecret),
		webhookSecret: openSecret(row.webhookSecretSealed, appSecret),
		enabled: row.enabled
	};
}

// ---------------------------------------------------------------------------------------------------------------
// The webhook hot path looks the secret up on every delivery; a short-lived per-process cache keeps that off
// PostgreSQL. Changes made in this process evict at once; every change is also announced on
// CONNECTION_CHANGES_CHANNEL when it commits, and each web process follows it (followWebhookConnectionChanges),
// so the other processes evict within milliseconds, and within the TTL if a notification is ever missed.

const CACHE_TTL_MS = 30_000;
const LOOKUP_TIMEOUT_MS = 10_000;
const MISS_TTL_MS = 5_000;

export interface WebhookConnection {
	id: string;
	webhookSecret: string;
	enabled: boolean;
}

const webhookCache = new Map<string, { value: WebhookConnection | null; until: number; loading?: Promise<WebhookConnection | null> }>();

export function forgetWebhookConnection(connectionId: string): void {
	webhookCache.delete(connectionId);
}

/**
 * Evicts this process's cached webhook connections as other processes change them; `onChange` sees each id too.
 * Returns the unsubscribe. The web server calls it at start (several web processes share the port).
 */
export async function followWebhookConnectionChanges(client: postgres.Sql, onChange?: (connectionId: string) => void): Promise<() => Promise<void>> {
	const sub = await client.listen(CONNECTION_CHANGES_CHANNEL, (connectionId) => {
		forgetWebhookConnection(connectionId);
		onChange?.(connectionId);
	});
	return () => sub.unlisten();
}

/** The connection a webhook names, with its secret; null if there is no such connection. */
export async function resolveWebhookConnection(db: DbOrTx, connectionId: string, nowMs = Date.now()): Promise<WebhookConnection | null> {
	if (!isUuid(connectionId)) return null;
	const hit = webhookCache.get(connectionId);
	if (hit && hit.until > nowMs) return hit.value;
	if (hit?.loading) return hit.loading;
	const loading = (async () => {
		// Bounded: every delivery for this connection waits on this one lookup while it loads.
		const [row] = await boundQuery(db.select().from(elevenlabsConnection).where(eq(elevenlabsConnection.id, connectionId)).limit(1), LOOKUP_TIMEOUT_MS, 'webhook connection lookup');
		const value = row ? { id: row.id, webhookSecret: openSecret(row.webhookSecretSealed, env().APP_SECRET), enabled: row.enabled } : null;
		webhookCache.set(connectionId, { value, until: Date.now() + (value ? CACHE_TTL_MS : MISS_TTL_MS) });
		return value;
	})();
	webhookCache.set(connectionId, { value: hit?.value ?? null, until: 0, loading });
	try {
		return await loading;
	} catch (err) {
		webhookCache.delete(connectionId);
		throw err;
	}
}
