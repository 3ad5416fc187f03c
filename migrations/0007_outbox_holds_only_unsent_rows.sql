-- The relay deletes the rows it sent, so sent_at is no longer written: drop it, after the rows stamped sent by
-- relays before that (kept for an hour for inspection), and keep the pending indexes without their predicate.
DELETE FROM "outbox" WHERE "sent_at" IS NOT NULL;--> statement-breakpoint
DROP INDEX "outbox_pending_idx";--> statement-breakpoint
DROP INDEX "outbox_connection_id_pending_idx";--> statement-breakpoint
CREATE INDEX "outbox_pending_idx" ON "outbox" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "outbox_connection_id_pending_idx" ON "outbox" USING btree ("connection_id");--> statement-breakpoint
ALTER TABLE "outbox" DROP COLUMN "sent_at";