import { bigint, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

// Workers stamp this row so /healthz can tell a queue with nobody working it.
export const workerHeartbeat = pgTable('worker_heartbeat', {
	workerId: text().primaryKey(),
	hostname: text().notNull(),
	startedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
	seenAt: timestamp({ withTimezone: true }).notNull().defaultNow()
});

// One row per fenced lease (db/locks.ts withLease): each acquisition bumps the epoch, and work done under the lease
// checks, inside its own transaction, that the epoch is still the one it acquired.
export const lease = pgTable('lease', {
	name: text().primaryKey(),
	epoch: bigint({ mode: 'number' }).notNull(),
	holder: text().notNull(),
	acquiredAt: timestamp({ withTimezone: true }).notNull().defaultNow()
});
