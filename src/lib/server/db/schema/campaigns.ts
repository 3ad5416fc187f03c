import { relations, sql } from 'drizzle-orm';
import {
	bigint,
	check,
	date,
	foreignKey,
	index,
	integer,
	jsonb,
	pgTable,
	primaryKey,
	text,
	timestamp,
	unique,
	uniqueIndex,
	uuid
} from 'drizzle-orm/pg-core';
import { user } from './auth';
import { tenant } from './tenants';

// Campaigns, their tracking numbers, mail drops (one CSV import = one drop) and recipients.
// Tenant consistency is by construction: every child row carries tenant_id and references its parent through
// (tenant_id, id), so a row can never point at another tenant's campaign or drop.

export const CAMPAIGN_CHANNELS = ['direct_mail', 'print_qr', 'web', 'outbound_calls', 'other'] as const;
export type CampaignChannel = (typeof CAMPAIGN_CHANNELS)[number];

export const CAMPAIGN_STATUSES = ['draft', 'active', 'ended', 'archived'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

export const campaign = pgTable(
	'campaign',
	{
		id: uuid().primaryKey().defaultRandom(),
		tenantId: uuid()
			.notNull()
			.references(() => tenant.id, { onDelete: 'restrict' }),
		name: text().notNull(),
		channel: text({ enum: CAMPAIGN_CHANNELS }).notNull(),
		status: text({ enum: CAMPAIGN_STATUSES }).notNull().default('draft'),
		// Local days in the tenant's time zone (src/lib/days.ts), inclusive; null = open-ended.
		startDate: date({ mode: 'string' }),
		endDate: date({ mode: 'string' }),
		landingUrl: text(),
		// Override the redirect's defaults (utm_source=voxcalls, utm_medium=<channel>, utm_campaign=<name>) when set.
		utmSource: text(),
		utmMedium: text(),
		utmCampaign: text(),
		attributionWindowDays: integer().notNull().default(60),
		notes: text().notNull().default(''),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [
		// The target of the (tenant_id, campaign_id) foreign keys below.
		unique('campaign_tenant_id_id_key').on(t.tenantId, t.id),
		// One name per tenant, ignoring case: marketers tell campaigns apart by name.
		uniqueIndex('campaign_tenant_id_name_idx').on(t.tenantId, sql`lower(${t.name})`),
		index('campaign_tenant_id_created_at_idx').on(t.tenantId, t.createdAt.desc()),
		check('campaign_dates_chk', sql`${t.endDate} is null or ${t.startDate} is null or ${t.endDate} >= ${t.startDate}`),
		check('campaign_attribution_window_days_chk', sql`${t.attributionWindowDays} between 1 and 3650`)
	]
);

/** E.164 numbers whose calls belong to the campaign (entered by the tenant; there is no number inventory yet). */
export const campaignTrackingNumber = pgTable(
	'campaign_tracking_number',
	{
		tenantId: uuid().notNull(),
		campaignId: uuid().notNull(),
		phoneE164: text('phone_e164').notNull(),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [
		primaryKey({ name: 'campaign_tracking_number_pk', columns: [t.campaignId, t.phoneE164] }),
		foreignKey({
			name: 'campaign_tracking_number_campaign_fk',
			columns: [t.tenantId, t.campaignId],
			foreignColumns: [campaign.tenantId, campaign.id]
		}).onDelete('cascade'),
		// Attribution looks calls up by the dialled number.
		index('campaign_tracking_number_tenant_id_phone_e164_idx').on(t.tenantId, t.phoneE164),
		check('campaign_tracking_number_e164_chk', sql`${t.phoneE164} ~ '^\\+[1-9][0-9]{6,14}$'`)
	]
);

/**
 * Import lifecycle of a drop. Only `completed` drops (and the recipients they created) are visible to lists,
 * counts, the funnel and the tracking endpoints; the others are work in progress or leave nothing behind.
 * awaiting_mapping: file stored, header + preview known, waiting for the column mapping.
 * queued → importing → completed | failed | cancelled. A failed or cancelled import deletes what it wrote.
 */
export const MAIL_DROP_STATUSES = ['awaiting_mapping', 'queued', 'importing', 'completed', 'failed', 'cancelled'] as const;
export type MailDropStatus = (typeof MAIL_DROP_STATUSES)[number];

/** Recipient fields a CSV column can map to. */
export const RECIPIENT_FIELDS = ['phone', 'firstName', 'lastName', 'email', 'address', 'postcode', 'customerId'] as const;
export type RecipientField = (typeof RECIPIENT_FIELDS)[number];
/** Recipient field → zero-based CSV column index. */
export type ColumnMapping = Partial<Record<RecipientField, number>>;

/** One mail drop = one CSV import, with the day it was sent and the import's status and progress. */
export const mailDrop = pgTable(
	'mail_drop',
	{
		id: uuid().primaryKey().defaultRandom(),
		tenantId: uuid().notNull(),
		campaignId: uuid().notNull(),
		name: text().notNull(),
		// Local day in the tenant's time zone.
		sentOn: date({ mode: 'string' }).notNull(),
		status: text({ enum: MAIL_DROP_STATUSES }).notNull().default('awaiting_mapping'),
		fileName: text().notNull(),
		fileBytes: bigint({ mode: 'number' }).notNull(),
		// Path of the stored upload relative to the data dir; null once the file is deleted after the import.
		storageKey: text(),
		delimiter: text(),
		headers: jsonb().$type<string[]>(),
		columnMapping: jsonb().$type<ColumnMapping>(),
		// Progress, written by the import job between batches.
		bytesRead: bigint({ mode: 'number' }).notNull().default(0),
		rowsRead: integer().notNull().default(0),
		// Rows that made a new recipient / merged into an existing one / were rejected (see recipient_import_error).
		rowsImported: integer().notNull().default(0),
		rowsMerged: integer().notNull().default(0),
		rowsRejected: integer().notNull().default(0),
		// Recipients linked to this drop ("sent"), stamped when the import completes.
		recipientCount: integer().notNull().default(0),
		errorMessage: text(),
		createdByUserId: uuid().references(() => user.id, { onDelete: 'set null' }),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		queuedAt: timestamp({ withTimezone: true }),
		startedAt: timestamp({ withTimezone: true }),
		finishedAt: timestamp({ withTimezone: true }),
		cancelRequestedAt: timestamp({ withTimezone: true })
	},
	(t) => [
		unique('mail_drop_tenant_id_id_key').on(t.tenantId, t.id),
		// Target of recipient's one foreign key, which so also pins the recipient's campaign to its drop's.
		unique('mail_drop_tenant_id_campaign_id_id_key').on(t.tenantId, t.campaignId, t.id),
		foreignKey({ name: 'mail_drop_campaign_fk', columns: [t.tenantId, t.campaignId], foreignColumns: [campaign.tenantId, campaign.id] }).onDelete(
			'cascade'
		),
		index('mail_drop_campaign_id_created_at_idx').on(t.campaignId, t.createdAt.desc())
	]
);

/**
 * A person a campaign reached. Merged within a campaign by E.164 phone or by the customer's own id (both unique
 * per campaign); the first row seen keeps its values. Visible only while the drop that created it is completed.
 */
export const recipient = pgTable(
	'recipient',
	{
		id: uuid().primaryKey(),
		tenantId: uuid().notNull(),
		campaignId: uuid().notNull(),
		createdDropId: uuid().notNull(),
		// 10 Crockford base32 characters from crypto random (50 bits); unique across the platform.
		trackingCode: text().notNull(),
		phoneE164: text('phone_e164'),
		firstName: text(),
		lastName: text(),
		email: text(),
		address: text(),
		postcode: text(),
		customerId: text(),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [
		uniqueIndex('recipient_tracking_code_idx').on(t.trackingCode),
		// Not partial (NULLs never collide in a unique index anyway), so they also serve "recipients of a campaign".
		uniqueIndex('recipient_campaign_id_phone_e164_idx').on(t.campaignId, t.phoneE164),
		uniqueIndex('recipient_campaign_id_customer_id_idx').on(t.campaignId, t.customerId),
		// Few indexes and one foreign key on purpose: each costs every imported row (the import benchmark). The
		// recipients a drop created are found through its recipient_drop links; callers by (campaign_id, phone_e164).
		foreignKey({
			name: 'recipient_created_drop_fk',
			columns: [t.tenantId, t.campaignId, t.createdDropId],
			foreignColumns: [mailDrop.tenantId, mailDrop.campaignId, mailDrop.id]
		}).onDelete('cascade'),
		check('recipient_tracking_code_chk', sql`${t.trackingCode} ~ '^[0-9A-HJKMNP-TV-Z]{10}$'`),
		check('recipient_phone_e164_chk', sql`${t.phoneE164} ~ '^\\+[1-9][0-9]{6,14}$'`)
	]
);

/** Which drops reached a recipient: a recipient merged across drops counts in each drop's "sent". */
export const recipientDrop = pgTable(
	'recipient_drop',
	{
		tenantId: uuid().notNull(),
		dropId: uuid().notNull(),
		recipientId: uuid()
			.notNull()
			.references(() => recipient.id, { onDelete: 'cascade' }),
		// First line of the drop's file that named this recipient.
		line: integer().notNull()
	},
	(t) => [
		primaryKey({ name: 'recipient_drop_pk', columns: [t.dropId, t.recipientId] }),
		index('recipient_drop_recipient_id_idx').on(t.recipientId),
		foreignKey({ name: 'recipient_drop_drop_fk', columns: [t.tenantId, t.dropId], foreignColumns: [mailDrop.tenantId, mailDrop.id] }).onDelete(
			'cascade'
		)
	]
);

/** A rejected CSV row: its line in the file (1 = header), why, and its fields as read, for the error download. */
export const recipientImportError = pgTable(
	'recipient_import_error',
	{
		tenantId: uuid().notNull(),
		dropId: uuid().notNull(),
		line: integer().notNull(),
		reason: text().notNull(),
		fields: jsonb().$type<string[]>().notNull()
	},
	(t) => [
		primaryKey({ name: 'recipient_import_error_pk', columns: [t.dropId, t.line] }),
		foreignKey({
			name: 'recipient_import_error_drop_fk',
			columns: [t.tenantId, t.dropId],
			foreignColumns: [mailDrop.tenantId, mailDrop.id]
		}).onDelete('cascade')
	]
);

export const campaignRelations = relations(campaign, ({ one, many }) => ({
	tenant: one(tenant, { fields: [campaign.tenantId], references: [tenant.id] }),
	trackingNumbers: many(campaignTrackingNumber),
	drops: many(mailDrop),
	recipients: many(recipient)
}));

export const campaignTrackingNumberRelations = relations(campaignTrackingNumber, ({ one }) => ({
	campaign: one(campaign, { fields: [campaignTrackingNumber.campaignId], references: [campaign.id] })
}));

export const mailDropRelations = relations(mailDrop, ({ one, many }) => ({
	campaign: one(campaign, { fields: [mailDrop.campaignId], references: [campaign.id] }),
	links: many(recipientDrop),
	errors: many(recipientImportError)
}));

export const recipientRelations = relations(recipient, ({ one, many }) => ({
	campaign: one(campaign, { fields: [recipient.campaignId], references: [campaign.id] }),
	createdDrop: one(mailDrop, { fields: [recipient.createdDropId], references: [mailDrop.id] }),
	drops: many(recipientDrop)
}));

export const recipientDropRelations = relations(recipientDrop, ({ one }) => ({
	drop: one(mailDrop, { fields: [recipientDrop.dropId], references: [mailDrop.id] }),
	recipient: one(recipient, { fields: [recipientDrop.recipientId], references: [recipient.id] })
}));

export const recipientImportErrorRelations = relations(recipientImportError, ({ one }) => ({
	drop: one(mailDrop, { fields: [recipientImportError.dropId], references: [mailDrop.id] })
}));
