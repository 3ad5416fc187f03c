import { index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { user } from './auth';
import { tenant } from './tenants';

// One row per admin change, written in the same transaction as the change. Never updated or deleted.
export const auditLog = pgTable(
	'audit_log',
	{
		id: uuid().primaryKey().defaultRandom(),
		at: timestamp({ withTimezone: true }).notNull().defaultNow(),
		// Null for platform-wide changes that belong to no tenant.
		tenantId: uuid().references(() => tenant.id, { onDelete: 'set null' }),
		actorUserId: uuid().references(() => user.id, { onDelete: 'set null' }),
		// Who acted, as known at the time ("owner@acme.test", "job:conversation.sync"); survives user deletion.
		actorLabel: text().notNull(),
		// `<area>.<verb>`, e.g. `member.role_change`.
		action: text().notNull(),
		targetType: text().notNull(),
		targetId: text(),
		before: jsonb().$type<Record<string, unknown> | null>(),
		after: jsonb().$type<Record<string, unknown> | null>(),
		requestIp: text()
	},
	(t) => [
		index('audit_log_tenant_id_at_idx').on(t.tenantId, t.at.desc()),
		index('audit_log_actor_user_id_at_idx').on(t.actorUserId, t.at.desc()),
		index('audit_log_action_idx').on(t.action)
	]
);
