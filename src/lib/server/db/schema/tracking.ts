import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

// QR scans and landing-page views, one row per counted event, written in the same statement as its outbox row
// (ingest/tracking-writer.ts) before the endpoint answers. An append-only log: the ids it carries are copied from
// the tracking code's recipient when the event is recorded, so no foreign keys slow the public hot path (and
// history stays readable if a campaign is archived). The relay takes the event to ClickHouse tracking_events.

export const TRACKING_EVENT_KINDS = ['scan', 'page_view'] as const;

// No secondary indexes: nothing reads this table by tenant, campaign or recipient (the funnel reads ClickHouse), and
// every index is a write on the public endpoints' hot path. Add one with the first query that needs it.
export const trackingEvent = pgTable('tracking_event', {
	/** Also the ClickHouse event id: fixed here, so a re-sent relay batch carries the same id. */
	id: uuid().primaryKey(),
	tenantId: uuid().notNull(),
	campaignId: uuid().notNull(),
	dropId: uuid().notNull(),
	recipientId: uuid().notNull(),
	kind: text({ enum: TRACKING_EVENT_KINDS }).notNull(),
	occurredAt: timestamp({ withTimezone: true }).notNull(),
	/** The page a view was recorded on (the pixel's `u`, at most 2,048 characters); null for a scan. */
	url: text()
});
