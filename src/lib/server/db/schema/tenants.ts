import { pgTable, text, timestamp, uuid, uniqueIndex } from 'drizzle-orm/pg-core';

export const tenant = pgTable(
	'tenant',
	{
		id: uuid().primaryKey().defaultRandom(),
		name: text().notNull(),
		slug: text().notNull(),
		timezone: text().notNull().default('UTC'),
		defaultCountry: text().notNull().default('US'),
		status: text({ enum: ['active', 'suspended'] }).notNull().default('active'),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [uniqueIndex('tenant_slug_idx').on(t.slug)]
);
