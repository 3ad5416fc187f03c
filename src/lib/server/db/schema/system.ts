import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';

// Workers stamp this row so /healthz can tell a queue with nobody working it.
export const workerHeartbeat = pgTable('worker_heartbeat', {
	workerId: text().primaryKey(),
	hostname: text().notNull(),
	startedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
	seenAt: timestamp({ withTimezone: true }).notNull().defaultNow()
});
