CREATE TABLE "tracking_event" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"campaign_id" uuid NOT NULL,
	"drop_id" uuid NOT NULL,
	"recipient_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"url" text
);
--> statement-breakpoint
CREATE INDEX "tracking_event_tenant_id_campaign_id_occurred_at_idx" ON "tracking_event" USING btree ("tenant_id","campaign_id","occurred_at");--> statement-breakpoint
CREATE INDEX "tracking_event_recipient_id_idx" ON "tracking_event" USING btree ("recipient_id");