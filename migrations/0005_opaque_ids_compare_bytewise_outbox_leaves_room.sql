-- Opaque upstream ids and hashes compare byte by byte (COLLATE "C"): the cluster's default collation sorts them
-- through the locale library on every unique-index check of the ingestion hot path, for no use.
ALTER TABLE "conversation" ALTER COLUMN "conversation_id" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "outbox" ALTER COLUMN "event_id" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "webhook_inbox" ALTER COLUMN "dedup_key" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
-- The relay stamps attempted_at on every row it sends; free space on each page lets that be a HOT update (no new
-- index entries) instead of a new row version in every index.
ALTER TABLE "outbox" SET (fillfactor = 60);
