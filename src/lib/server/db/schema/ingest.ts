import { sql } from 'drizzle-orm';
import {
	bigint,
	bigserial,
	boolean,
	index,
	integer,
	json,
	jsonb,
	numeric,
	pgTable,
	primaryKey,
	smallint,
	text,
	timestamp,
	uniqueIndex,
	uuid
} from 'drizzle-orm/pg-core';
import { tenant } from './tenants';

// ElevenLabs ingestion: connections, agent → tenant mapping, one row per conversation, the webhook inbox,
// the ClickHouse outbox, and per-connection ingestion status. Design notes: src/lib/server/ingest/README-section.md.

/** An ElevenLabs workspace we read from. Platform-level when tenantId is null. Secrets are sealed (crypto/secrets). */
export const elevenlabsConnection = pgTable(
	'elevenlabs_connection',
	{
		id: uuid().primaryKey().defaultRandom(),
		tenantId: uuid().references(() => tenant.id, { onDelete: 'restrict' }),
		name: text().notNull(),
		baseUrl: text().notNull(),
		apiKeySealed: text().notNull(),
		apiKeyHint: text().notNull(),
		webhookSecretSealed: text().notNull(),
		webhookSecretHint: text().notNull(),
		enabled: boolean().notNull().default(true),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [index('elevenlabs_connection_tenant_id_idx').on(t.tenantId)]
);

/**
 * Agents seen on a connection and the tenant each belongs to. A null tenantId means "not mapped yet": its
 * conversations wait in quarantine (conversation.tenant_id null) until a platform admin maps it.
 */
export const elevenlabsAgent = pgTable(
	'elevenlabs_agent',
	{
		connectionId: uuid()
			.notNull()
			.references(() => elevenlabsConnection.id, { onDelete: 'cascade' }),
		agentId: text().notNull(),
		name: text(),
		tenantId: uuid().references(() => tenant.id, { onDelete: 'restrict' }),
		firstSeenAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		mappedAt: timestamp({ withTimezone: true }),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [primaryKey({ name: 'elevenlabs_agent_pk', columns: [t.connectionId, t.agentId] }), index('elevenlabs_agent_tenant_id_idx').on(t.tenantId)]
);

export const CONVERSATION_SOURCES = ['webhook', 'poll'] as const;

/**
 * One row per upstream conversation_id. Status only moves forward (statusRank); every applied change bumps
 * version and, once the tenant is known, writes retraction + fact rows to the outbox in the same transaction.
 */
export const conversation = pgTable(
	'conversation',
	{
		id: uuid().primaryKey().defaultRandom(),
		conversationId: text().notNull(),
		connectionId: uuid()
			.notNull()
			.references(() => elevenlabsConnection.id, { onDelete: 'restrict' }),
		agentId: text().notNull(),
		/** Null while quarantined (agent mapped to no tenant). */
		tenantId: uuid().references(() => tenant.id, { onDelete: 'restrict' }),
		quarantinedAt: timestamp({ withTimezone: true }),
		/** Null until a snapshot with a status arrives (e.g. audio delivered before the transcript). */
		status: text(),
		statusRank: smallint().notNull().default(-1),
		version: integer().notNull().default(1),
		startedAt: timestamp({ withTimezone: true }),
		durationSecs: integer().notNull().default(0),
		direction: text(),
		callResult: text(),
		callSuccessful: text(),
		terminationReason: text(),
		failureReason: text(),
		/** ElevenLabs credits, exact (string in TypeScript). */
		cost: numeric({ precision: 18, scale: 6 }),
		agentNumber: text(),
		externalNumber: text(),
		phoneNumberId: text(),
		callSid: text(),
		batchCallId: text(),
		title: text(),
		summary: text(),
		/**
		 * transcript, analysis, initiation client data and metadata as last received (tolerant, loose). json, not
		 * jsonb: it is read whole and never queried into, and converting ~3 KB to jsonb was PostgreSQL's largest cost
		 * per stored conversation (json input only validates the text).
		 */
		details: json(),
		hasAudio: boolean().notNull().default(false),
		audioKey: text(),
		/** Upstream time of the snapshot last applied (webhook event_timestamp, or fetch time for polls). */
		observedAt: timestamp({ withTimezone: true }),
		source: text({ enum: CONVERSATION_SOURCES }).notNull(),
		/** Version and content of the fact currently live in ClickHouse; the next change retracts exactly this. */
		emittedVersion: integer(),
		emittedFact: jsonb(),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [
		uniqueIndex('conversation_conversation_id_idx').on(t.conversationId),
		index('conversation_tenant_id_started_at_idx').on(t.tenantId, t.startedAt),
		index('conversation_quarantine_idx').on(t.connectionId, t.agentId).where(sql`${t.tenantId} is null`)
	]
);

export const INBOX_STATUSES = ['pending', 'processed', 'failed'] as const;

/**
 * Signed webhook deliveries, written (group-committed) before the endpoint answers 200. The processor claims
 * pending rows in batches. Duplicates (same connection, same body bytes) are absorbed by the unique dedup key.
 */
export const webhookInbox = pgTable(
	'webhook_inbox',
	{
		id: bigserial({ mode: 'number' }).primaryKey(),
		connectionId: uuid()
			.notNull()
			.references(() => elevenlabsConnection.id, { onDelete: 'cascade' }),
		receivedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		eventType: text().notNull(),
		conversationId: text(),
		agentId: text(),
		eventTimestamp: bigint({ mode: 'number' }),
		/** sha256 (hex) of the raw body bytes. */
		dedupKey: text().notNull(),
		/** The JSON body; for post_call_audio without full_audio, which is in storage under audioKey. */
		body: text().notNull(),
		audioKey: text(),
		status: text({ enum: INBOX_STATUSES }).notNull().default('pending'),
		attempts: smallint().notNull().default(0),
		processedAt: timestamp({ withTimezone: true }),
		lastError: text()
	},
	(t) => [
		uniqueIndex('webhook_inbox_connection_id_dedup_key_idx').on(t.connectionId, t.dedupKey),
		index('webhook_inbox_pending_idx').on(t.id).where(sql`${t.status} = 'pending'`)
	]
);

/**
 * Rows bound for ClickHouse, written in the transaction of the change they describe. eventId is deterministic
 * and unique; the relay marks attemptedAt before inserting so a crash leaves the batch "in doubt", not lost, and
 * deletes the rows it sent: every row here is still to be sent.
 */
export const outbox = pgTable(
	'outbox',
	{
		id: bigserial({ mode: 'number' }).primaryKey(),
		eventId: text().notNull(),
		/** ClickHouse table the payload is a row of (a constant in code, never input). */
		target: text().notNull(),
		payload: jsonb().notNull(),
		connectionId: uuid(),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		attemptedAt: timestamp({ withTimezone: true }),
		attempts: integer().notNull().default(0)
	},
	(t) => [
		uniqueIndex('outbox_event_id_idx').on(t.eventId),
		index('outbox_pending_idx').on(t.createdAt),
		index('outbox_connection_id_pending_idx').on(t.connectionId)
	]
);

/** Polling sync progress per connection (written by the sync via recordPollResult) and last webhook seen. */
export const ingestionStatus = pgTable('ingestion_status', {
	connectionId: uuid()
		.primaryKey()
		.references(() => elevenlabsConnection.id, { onDelete: 'cascade' }),
	lastWebhookAt: timestamp({ withTimezone: true }),
	lastPollAt: timestamp({ withTimezone: true }),
	lastPollOk: boolean(),
	/** Conversations that started before this instant are known to be synced. */
	watermark: timestamp({ withTimezone: true }),
	updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
});

export const INGESTION_ERROR_SOURCES = ['webhook', 'processor', 'relay', 'poll', 'quarantine'] as const;

/** Recent ingestion errors for the admin page; repeated errors are aggregated (detail.count) and pruned. */
export const ingestionError = pgTable(
	'ingestion_error',
	{
		id: bigserial({ mode: 'number' }).primaryKey(),
		connectionId: uuid().references(() => elevenlabsConnection.id, { onDelete: 'cascade' }),
		occurredAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		source: text({ enum: INGESTION_ERROR_SOURCES }).notNull(),
		message: text().notNull(),
		count: integer().notNull().default(1),
		detail: jsonb()
	},
	(t) => [index('ingestion_error_connection_id_occurred_at_idx').on(t.connectionId, t.occurredAt)]
);
