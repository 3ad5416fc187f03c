-- conversation.details is read whole and never queried into: json keeps upstream's text as received and only
-- validates it, where jsonb's conversion was PostgreSQL's largest cost per stored conversation.
ALTER TABLE "conversation" ALTER COLUMN "details" SET DATA TYPE json USING "details"::json;--> statement-breakpoint
DO $$
BEGIN
	ALTER TABLE "conversation" ALTER COLUMN "details" SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
	RAISE NOTICE 'lz4 compression is not available on this server; keeping pglz';
END $$;
