import { pgTable, text, timestamp, uuid, uniqueIndex } from 'drizzle-orm/pg-core';

export const TENANT_STATUSES = ['active', 'suspended'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

export const tenant = pgTable(
	'tenant',
	{
		id: uuid().primaryKey().defaultRandom(),
		name: text().notNull(),
		slug: text().notNull(),
		// IANA zone; every per-day figure of the tenant is cut at its local midnight.
		timezone: text().notNull().default('UTC'),
		// ISO 3166-1 alpha-2; how national-format phone numbers of this tenant are read.
		defaultCountry: text().notNull().default('US'),
		// Suspension stops members reading the tenant; ingestion keeps storing its calls.
		status: text({ enum: TENANT_STATUSES }).notNull().default('active'),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		suspendedAt: timestamp({ withTimezone: true })
	},
	(t) => [uniqueIndex('tenant_slug_idx').on(t.slug)]
);
