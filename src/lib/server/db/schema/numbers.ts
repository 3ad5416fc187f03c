import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, smallint, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { elevenlabsConnection } from './ingest';
import { tenant } from './tenants';

// The phone-number pool: Twilio accounts we buy from, one row per number with its persisted lifecycle, the
// reconcile job's drift reports, and platform-wide switches. Design notes: README "The phone-number pool".

/** A Twilio account numbers are bought from and imported into ElevenLabs with. The auth token is sealed. */
export const twilioAccount = pgTable(
	'twilio_account',
	{
		id: uuid().primaryKey().defaultRandom(),
		name: text().notNull(),
		accountSid: text().notNull(),
		authTokenSealed: text().notNull(),
		authTokenHint: text().notNull(),
		/** Twilio API origin; env TWILIO_BASE_URL when the admin gives none (the emulator under `npm start`). */
		baseUrl: text().notNull(),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [uniqueIndex('twilio_account_account_sid_idx').on(t.accountSid)]
);

/**
 * Where a number is in its lifecycle. Each transitional state names the next provider step; the step is
 * idempotent (it looks the number up before creating it), so the resume job can redo it after any failure.
 *   purchasing → (Twilio buy) → importing → (ElevenLabs import) → syncing → (ElevenLabs agent set) → active
 *   releasing → (ElevenLabs unassign + delete, Twilio release) → released
 */
export const PHONE_NUMBER_STATUSES = ['purchasing', 'importing', 'syncing', 'active', 'releasing', 'released'] as const;
export type PhoneNumberStatus = (typeof PHONE_NUMBER_STATUSES)[number];
export const TRANSITIONAL_NUMBER_STATUSES = ['purchasing', 'importing', 'syncing', 'releasing'] as const satisfies readonly PhoneNumberStatus[];

export const phoneNumber = pgTable(
	'phone_number',
	{
		id: uuid().primaryKey().defaultRandom(),
		/** E.164; the join key with campaign tracking numbers and with both providers. */
		e164: text().notNull(),
		twilioAccountId: uuid()
			.notNull()
			.references(() => twilioAccount.id, { onDelete: 'restrict' }),
		/** The ElevenLabs workspace the number is imported into. */
		connectionId: uuid()
			.notNull()
			.references(() => elevenlabsConnection.id, { onDelete: 'restrict' }),
		status: text({ enum: PHONE_NUMBER_STATUSES }).notNull(),
		friendlyName: text(),
		country: text().notNull(),
		twilioSid: text(),
		elevenlabsPhoneNumberId: text(),
		/** Null while in the pool. */
		tenantId: uuid().references(() => tenant.id, { onDelete: 'restrict' }),
		/** The agent the number should answer with (desired); upstream follows in the `syncing` step. */
		agentId: text(),
		/** Marks the number as a campaign tracking number (campaigns refer to it by e164). */
		campaignTracking: boolean().notNull().default(false),
		attempts: smallint().notNull().default(0),
		nextAttemptAt: timestamp({ withTimezone: true }),
		lastError: text(),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		releasedAt: timestamp({ withTimezone: true })
	},
	(t) => [
		// A released number may be bought again later; while we hold it, it exists once.
		uniqueIndex('phone_number_e164_idx').on(t.e164).where(sql`${t.status} <> 'released'`),
		index('phone_number_tenant_id_idx').on(t.tenantId),
		index('phone_number_pending_idx').on(t.nextAttemptAt).where(sql`${t.status} in ('purchasing', 'importing', 'syncing', 'releasing')`)
	]
);

export const DRIFT_KINDS = [
	'missing_at_twilio',
	'missing_at_elevenlabs',
	'only_in_database',
	'untracked_at_twilio',
	'untracked_at_elevenlabs',
	'agent_mismatch'
] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];
export interface DriftItem {
	kind: DriftKind;
	e164: string;
	numberId: string | null;
	detail: string;
}

/** One reconcile run: what differed between Twilio, ElevenLabs and our rows. Reports only; changes nothing. */
export const numberReconcileRun = pgTable(
	'number_reconcile_run',
	{
		id: uuid().primaryKey().defaultRandom(),
		ranAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		ok: boolean().notNull(),
		checked: integer().notNull().default(0),
		drift: jsonb().$type<DriftItem[]>().notNull().default([]),
		error: text()
	},
	(t) => [index('number_reconcile_run_ran_at_idx').on(t.ranAt)]
);

/** Platform-wide switches (one row per key). */
export const platformSetting = pgTable('platform_setting', {
	key: text().primaryKey(),
	value: jsonb().notNull(),
	updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
});
