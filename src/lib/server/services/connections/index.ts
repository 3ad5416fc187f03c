import { asc, count, eq, sql } from 'drizzle-orm';
import { sealSecret, secretHint } from '../../crypto/secrets';
import { inTransaction, type DbOrTx } from '../../db/client';
import { conversation, elevenlabsConnection, tenant } from '../../db/schema/index';
import { env } from '../../env';
import { DomainError } from '../../errors';
import { CONNECTION_CHANGES_CHANNEL, QUARANTINE_CHANNEL } from '../../db/channels';
import { forgetWebhookConnection, isUuid, readConnectionCredentials, webhookPathFor, type ConnectionCredentials } from '../../ingest/connections';
import { recordAudit } from '../audit/index';
import { assertPlatformActor, type ServiceCtx } from '../context';

// ElevenLabs connections: an API key, a webhook secret and a base URL, sealed at rest; platform-level when
// tenantId is null. Browsers only ever see hints (last four characters) of the secrets.

export interface ConnectionView {
	id: string;
	name: string;
	tenantId: string | null;
	tenantName: string | null;
	baseUrl: string;
	apiKeyHint: string;
	webhookSecretHint: string;
	enabled: boolean;
	createdAt: Date;
	updatedAt: Date;
	/** Path ElevenLabs should POST post-call webhooks to (prefix with the public origin). */
	webhookPath: string;
}

const viewColumns = {
	id: elevenlabsConnection.id,
	name: elevenlabsConnection.name,
	tenantId: elevenlabsConnection.tenantId,
	tenantName: tenant.name,
	baseUrl: elevenlabsConnection.baseUrl,
	apiKeyHint: elevenlabsConnection.apiKeyHint,
	webhookSecretHint: elevenlabsConnection.webhookSecretHint,
	enabled: elevenlabsConnection.enabled,
	createdAt: elevenlabsConnection.createdAt,
	updatedAt: elevenlabsConnection.updatedAt
};

function normaliseBaseUrl(raw: string): string {
	let u: URL;
	try {
		u = new URL(raw);
	} catch {
		throw new DomainError('BAD_INPUT', 'The base URL is not a URL');
	}
	if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new DomainError('BAD_INPUT', 'The base URL must be http(s)');
	return u.toString().replace(/\/+$/, '');
}

async function ensureTenantExists(db: DbOrTx, tenantId: string | null | undefined) {
	if (!tenantId) return;
	const [row] = await db.select({ id: tenant.id }).from(tenant).where(eq(tenant.id, tenantId)).limit(1);
	if (!row) throw new DomainError('NOT_FOUND', 'Tenant not found');
}

async function viewOf(db: DbOrTx, connectionId: string): Promise<ConnectionView> {
	if (!isUuid(connectionId)) throw new DomainError('NOT_FOUND', 'Connection not found');
	const [row] = await db
		.select(viewColumns)
		.from(elevenlabsConnection)
		.leftJoin(tenant, eq(tenant.id, elevenlabsConnection.tenantId))
		.where(eq(elevenlabsConnection.id, connectionId))
		.limit(1);
	if (!row) throw new DomainError('NOT_FOUND', 'Connection not found');
	return { ...row, webhookPath: webhookPathFor(row.id) };
}

export async function listConnections({ ctx }: { ctx: ServiceCtx }): Promise<ConnectionView[]> {
	assertPlatformActor(ctx.actor);
	const rows = await ctx.db
		.select(viewColumns)
		.from(elevenlabsConnection)
		.leftJoin(tenant, eq(tenant.id, elevenlabsConnection.tenantId))
		.orderBy(asc(elevenlabsConnection.name), asc(elevenlabsConnection.createdAt));
	return rows.map((r) => ({ ...r, webhookPath: webhookPathFor(r.id) }));
}

export async function getConnection({ ctx, input }: { ctx: ServiceCtx; input: { connectionId: string } }): Promise<ConnectionView> {
	assertPlatformActor(ctx.actor);
	return viewOf(ctx.db, input.connectionId);
}

export interface CreateConnectionInput {
	name: string;
	baseUrl: string;
	apiKey: string;
	webhookSecret: string;
	tenantId?: string | null;
}

export async function createConnection({ ctx, input }: { ctx: ServiceCtx; input: CreateConnectionInput }): Promise<ConnectionView> {
	assertPlatformActor(ctx.actor);
	const appSecret = env().APP_SECRET;
	return inTransaction(ctx.db, async (tx) => {
		await ensureTenantExists(tx, input.tenantId);
		const [row] = await tx
			.insert(elevenlabsConnection)
			.values({
				name: input.name.trim(),
				tenantId: input.tenantId ?? null,
				baseUrl: normaliseBaseUrl(input.baseUrl),
				apiKeySealed: sealSecret(input.apiKey, appSecret),
				apiKeyHint: secretHint(input.apiKey),
				webhookSecretSealed: sealSecret(input.webhookSecret, appSecret),
				webhookSecretHint: secretHint(input.webhookSecret)
			})
			.returning({ id: elevenlabsConnection.id });
		const view = await viewOf(tx, row.id);
		await recordAudit(tx, ctx, {
			tenantId: view.tenantId,
			action: 'connection.create',
			targetType: 'elevenlabs_connection',
			targetId: view.id,
			after: auditable(view)
		});
		await announceConnectionChange(tx, view.id);
		return view;
	});
}

export interface UpdateConnectionInput {
	connectionId: string;
	name?: string;
	baseUrl?: string;
	/** Replaces the stored key; omit to keep it. */
	apiKey?: string;
	webhookSecret?: string;
	enabled?: boolean;
	tenantId?: string | null;
}

export async function updateConnection({ ctx, input }: { ctx: ServiceCtx; input: UpdateConnectionInput }): Promise<ConnectionView> {
	assertPlatformActor(ctx.actor);
	const appSecret = env().APP_SECRET;
	const view = await inTransaction(ctx.db, async (tx) => {
		const before = await viewOf(tx, input.connectionId);
		if (input.tenantId !== undefined) await ensureTenantExists(tx, input.tenantId);
		await tx
			.update(elevenlabsConnection)
			.set({
				...(input.name !== undefined ? { name: input.name.trim() } : {}),
				...(input.baseUrl !== undefined ? { baseUrl: normaliseBaseUrl(input.baseUrl) } : {}),
				...(input.apiKey !== undefined ? { apiKeySealed: sealSecret(input.apiKey, appSecret), apiKeyHint: secretHint(input.apiKey) } : {}),
				...(input.webhookSecret !== undefined
					? { webhookSecretSealed: sealSecret(input.webhookSecret, appSecret), webhookSecretHint: secretHint(input.webhookSecret) }
					: {}),
				...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
				...(input.tenantId !== undefined ? { tenantId: input.tenantId } : {}),
				updatedAt: new Date()
			})
			.where(eq(elevenlabsConnection.id, before.id));
		const after = await viewOf(tx, before.id);
		// A connection that now has a tenant can take its quarantined calls: wake the worker's release sweep.
		if (after.tenantId && after.tenantId !== before.tenantId) await tx.execute(sql`select pg_notify(${QUARANTINE_CHANNEL}, '')`);
		await recordAudit(tx, ctx, {
			tenantId: after.tenantId,
			action: 'connection.update',
			targetType: 'elevenlabs_connection',
			targetId: after.id,
			before: auditable(before),
			after: { ...auditable(after), apiKeyReplaced: input.apiKey !== undefined, webhookSecretReplaced: input.webhookSecret !== undefined }
		});
		await announceConnectionChange(tx, after.id);
		return after;
	});
	forgetWebhookConnection(view.id);
	return view;
}

/** Deletes a connection that never ingested anything; one with conversations can only be disabled. */
export async function deleteConnection({ ctx, input }: { ctx: ServiceCtx; input: { connectionId: string } }): Promise<{ deleted: true }> {
	assertPlatformActor(ctx.actor);
	await inTransaction(ctx.db, async (tx) => {
		const before = await viewOf(tx, input.connectionId);
		const [{ n }] = await tx.select({ n: count() }).from(conversation).where(eq(conversation.connectionId, before.id));
		if (n > 0) throw new DomainError('CONFLICT', `This connection has ${n} conversations; disable it instead`);
		await tx.delete(elevenlabsConnection).where(eq(elevenlabsConnection.id, before.id));
		await recordAudit(tx, ctx, {
			tenantId: before.tenantId,
			action: 'connection.delete',
			targetType: 'elevenlabs_connection',
			targetId: before.id,
			before: auditable(before)
		});
		await announceConnectionChange(tx, before.id);
	});
	forgetWebhookConnection(input.connectionId);
	return { deleted: true };
}

/** Decrypted credentials of one connection, for platform admins' tools (the demo seeder). Never send these to a browser. */
export async function openConnectionCredentials({ ctx, input }: { ctx: ServiceCtx; input: { connectionId: string } }): Promise<ConnectionCredentials> {
	assertPlatformActor(ctx.actor);
	return readConnectionCredentials({ ctx, input });
}

function auditable(v: ConnectionView): Record<string, unknown> {
	return { name: v.name, tenantId: v.tenantId, baseUrl: v.baseUrl, apiKeyHint: v.apiKeyHint, webhookSecretHint: v.webhookSecretHint, enabled: v.enabled };
}

/** Queues a change notice, delivered when `tx` commits (never for a rolled-back change). */
async function announceConnectionChange(tx: DbOrTx, connectionId: string): Promise<void> {
	await tx.execute(sql`select pg_notify(${CONNECTION_CHANGES_CHANNEL}, ${connectionId})`);
}

