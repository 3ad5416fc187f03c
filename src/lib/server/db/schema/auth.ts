import { relations, sql } from 'drizzle-orm';
import { boolean, check, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { TENANT_ROLES } from './roles';
import { tenant } from './tenants';

// "user" is a reserved word in PostgreSQL; drizzle quotes it, raw SQL must too.
export const user = pgTable(
	'user',
	{
		id: uuid().primaryKey().defaultRandom(),
		// Stored trimmed and lower-cased, so the unique index is the case-insensitive natural key.
		email: text().notNull(),
		// argon2id PHC string (@node-rs/argon2).
		passwordHash: text().notNull(),
		isPlatformAdmin: boolean().notNull().default(false),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		passwordChangedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [uniqueIndex('user_email_idx').on(t.email), check('user_email_lowercase_chk', sql`${t.email} = lower(${t.email})`)]
);

export const membership = pgTable(
	'membership',
	{
		tenantId: uuid()
			.notNull()
			.references(() => tenant.id, { onDelete: 'cascade' }),
		userId: uuid()
			.notNull()
			.references(() => user.id, { onDelete: 'cascade' }),
		role: text({ enum: TENANT_ROLES }).notNull(),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [primaryKey({ name: 'membership_pk', columns: [t.tenantId, t.userId] }), index('membership_user_id_idx').on(t.userId)]
);

// Lucia v3 sessions (used only inside src/lib/server/auth/). The active tenant is the switcher's choice.
export const session = pgTable(
	'session',
	{
		id: text().primaryKey(),
		userId: uuid()
			.notNull()
			.references(() => user.id, { onDelete: 'cascade' }),
		expiresAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
		activeTenantId: uuid().references(() => tenant.id, { onDelete: 'set null' }),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [index('session_user_id_idx').on(t.userId)]
);

// The token itself is shown once to the inviting admin; only its SHA-256 is stored.
export const invitation = pgTable(
	'invitation',
	{
		id: uuid().primaryKey().defaultRandom(),
		tenantId: uuid()
			.notNull()
			.references(() => tenant.id, { onDelete: 'cascade' }),
		email: text().notNull(),
		role: text({ enum: TENANT_ROLES }).notNull(),
		tokenHash: text().notNull(),
		invitedByUserId: uuid().references(() => user.id, { onDelete: 'set null' }),
		expiresAt: timestamp({ withTimezone: true }).notNull(),
		acceptedAt: timestamp({ withTimezone: true }),
		revokedAt: timestamp({ withTimezone: true }),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [
		index('invitation_tenant_id_idx').on(t.tenantId),
		// At most one open invitation per person per tenant; re-inviting revokes the previous one.
		uniqueIndex('invitation_tenant_id_email_open_idx')
			.on(t.tenantId, t.email)
			.where(sql`${t.acceptedAt} is null and ${t.revokedAt} is null`)
	]
);

// Sign-in failures per key (`account:<email>` or `ip:<address>`) in a fixed window; shared by every web process.
export const signInThrottle = pgTable('sign_in_throttle', {
	key: text().primaryKey(),
	failures: integer().notNull(),
	windowStartedAt: timestamp({ withTimezone: true }).notNull()
});

export const tenantRelations = relations(tenant, ({ many }) => ({
	memberships: many(membership),
	invitations: many(invitation)
}));

export const userRelations = relations(user, ({ many }) => ({
	memberships: many(membership),
	sessions: many(session)
}));

export const membershipRelations = relations(membership, ({ one }) => ({
	tenant: one(tenant, { fields: [membership.tenantId], references: [tenant.id] }),
	user: one(user, { fields: [membership.userId], references: [user.id] })
}));

export const sessionRelations = relations(session, ({ one }) => ({
	user: one(user, { fields: [session.userId], references: [user.id] })
}));

export const invitationRelations = relations(invitation, ({ one }) => ({
	tenant: one(tenant, { fields: [invitation.tenantId], references: [tenant.id] }),
	invitedBy: one(user, { fields: [invitation.invitedByUserId], references: [user.id] })
}));
