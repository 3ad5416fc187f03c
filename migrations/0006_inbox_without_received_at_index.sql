-- Applied inbox rows are deleted, so the inbox holds only what is pending, failed or ignored: a handful of rows that
-- the pending index or a scan finds. An index on (connection_id, received_at) only cost every webhook one more
-- index insert.
DROP INDEX "webhook_inbox_connection_id_received_at_idx";
