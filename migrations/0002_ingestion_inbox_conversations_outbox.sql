CREATE TABLE "conversation" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"conversation_id" text NOT NULL,
	"connection_id" uuid NOT NULL,
	"agent_id" text NOT NULL,
	"tenant_id" uuid,
	"quarantined_at" timestamp with time zone,
	"status" text,
	"status_rank" smallint DEFAULT -1 NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"started_at" timestamp with time zone,
	"duration_secs" integer DEFAULT 0 NOT NULL,
	"direction" text,
	"call_result" text,
	"call_successful" text,
	"termination_reason" text,
	"failure_reason" text,
	"cost" double precision,
	"agent_number" text,
	"external_number" text,
	"phone_number_id" text,
	"call_sid" text,
	"batch_call_id" text,
	"title" text,
	"summary" text,
	"details" jsonb,
	"has_audio" boolean DEFAULT false NOT NULL,
	"audio_key" text,
	"observed_at" timestamp with time zone,
	"source" text NOT NULL,
	"emitted_version" integer,
	"emitted_fact" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "elevenlabs_agent" (
	"connection_id" uuid NOT NULL,
	"agent_id" text NOT NULL,
	"name" text,
	"tenant_id" uuid,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"mapped_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "elevenlabs_agent_pk" PRIMARY KEY("connection_id","agent_id")
);
--> statement-breakpoint
CREATE TABLE "elevenlabs_connection" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid,
	"name" text NOT NULL,
	"base_url" text NOT NULL,
	"api_key_sealed" text NOT NULL,
	"api_key_hint" text NOT NULL,
	"webhook_secret_sealed" text NOT NULL,
	"webhook_secret_hint" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ingestion_error" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"connection_id" uuid,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"source" text NOT NULL,
	"message" text NOT NULL,
	"count" integer DEFAULT 1 NOT NULL,
	"detail" jsonb
);
--> statement-breakpoint
CREATE TABLE "ingestion_status" (
	"connection_id" uuid PRIMARY KEY NOT NULL,
	"last_webhook_at" timestamp with time zone,
	"last_poll_at" timestamp with time zone,
	"last_poll_ok" boolean,
	"watermark" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" text NOT NULL,
	"target" text NOT NULL,
	"payload" jsonb NOT NULL,
	"connection_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"attempted_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "webhook_inbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"connection_id" uuid NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"event_type" text NOT NULL,
	"conversation_id" text,
	"agent_id" text,
	"event_timestamp" bigint,
	"dedup_key" text NOT NULL,
	"body" text NOT NULL,
	"audio_key" text,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" smallint DEFAULT 0 NOT NULL,
	"processed_at" timestamp with time zone,
	"last_error" text
);
--> statement-breakpoint
ALTER TABLE "conversation" ADD CONSTRAINT "conversation_connection_id_elevenlabs_connection_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."elevenlabs_connection"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation" ADD CONSTRAINT "conversation_tenant_id_tenant_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenant"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "elevenlabs_agent" ADD CONSTRAINT "elevenlabs_agent_connection_id_elevenlabs_connection_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."elevenlabs_connection"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "elevenlabs_agent" ADD CONSTRAINT "elevenlabs_agent_tenant_id_tenant_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenant"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "elevenlabs_connection" ADD CONSTRAINT "elevenlabs_connection_tenant_id_tenant_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenant"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ingestion_error" ADD CONSTRAINT "ingestion_error_connection_id_elevenlabs_connection_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."elevenlabs_connection"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ingestion_status" ADD CONSTRAINT "ingestion_status_connection_id_elevenlabs_connection_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."elevenlabs_connection"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_inbox" ADD CONSTRAINT "webhook_inbox_connection_id_elevenlabs_connection_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."elevenlabs_connection"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "conversation_conversation_id_idx" ON "conversation" USING btree ("conversation_id");--> statement-breakpoint
CREATE INDEX "conversation_tenant_id_started_at_idx" ON "conversation" USING btree ("tenant_id","started_at");--> statement-breakpoint
CREATE INDEX "conversation_quarantine_idx" ON "conversation" USING btree ("connection_id","agent_id") WHERE "conversation"."tenant_id" is null;--> statement-breakpoint
CREATE INDEX "elevenlabs_agent_tenant_id_idx" ON "elevenlabs_agent" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "elevenlabs_connection_tenant_id_idx" ON "elevenlabs_connection" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "ingestion_error_connection_id_occurred_at_idx" ON "ingestion_error" USING btree ("connection_id","occurred_at");--> statement-breakpoint
CREATE UNIQUE INDEX "outbox_event_id_idx" ON "outbox" USING btree ("event_id");--> statement-breakpoint
CREATE INDEX "outbox_pending_idx" ON "outbox" USING btree ("created_at") WHERE "outbox"."sent_at" is null;--> statement-breakpoint
CREATE INDEX "outbox_connection_id_pending_idx" ON "outbox" USING btree ("connection_id") WHERE "outbox"."sent_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_inbox_connection_id_dedup_key_idx" ON "webhook_inbox" USING btree ("connection_id","dedup_key");--> statement-breakpoint
CREATE INDEX "webhook_inbox_pending_idx" ON "webhook_inbox" USING btree ("id") WHERE "webhook_inbox"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "webhook_inbox_connection_id_received_at_idx" ON "webhook_inbox" USING btree ("connection_id","received_at");