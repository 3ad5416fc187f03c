CREATE TABLE "campaign" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"channel" text NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"start_date" date,
	"end_date" date,
	"landing_url" text,
	"utm_source" text,
	"utm_medium" text,
	"utm_campaign" text,
	"attribution_window_days" integer DEFAULT 60 NOT NULL,
	"notes" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "campaign_tenant_id_id_key" UNIQUE("tenant_id","id"),
	CONSTRAINT "campaign_dates_chk" CHECK ("campaign"."end_date" is null or "campaign"."start_date" is null or "campaign"."end_date" >= "campaign"."start_date"),
	CONSTRAINT "campaign_attribution_window_days_chk" CHECK ("campaign"."attribution_window_days" between 1 and 3650)
);
--> statement-breakpoint
CREATE TABLE "campaign_tracking_number" (
	"tenant_id" uuid NOT NULL,
	"campaign_id" uuid NOT NULL,
	"phone_e164" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "campaign_tracking_number_pk" PRIMARY KEY("campaign_id","phone_e164"),
	CONSTRAINT "campaign_tracking_number_e164_chk" CHECK ("campaign_tracking_number"."phone_e164" ~ '^\+[1-9][0-9]{6,14}$')
);
--> statement-breakpoint
CREATE TABLE "mail_drop" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"campaign_id" uuid NOT NULL,
	"name" text NOT NULL,
	"sent_on" date NOT NULL,
	"status" text DEFAULT 'awaiting_mapping' NOT NULL,
	"file_name" text NOT NULL,
	"file_bytes" bigint NOT NULL,
	"storage_key" text,
	"delimiter" text,
	"headers" jsonb,
	"column_mapping" jsonb,
	"bytes_read" bigint DEFAULT 0 NOT NULL,
	"rows_read" integer DEFAULT 0 NOT NULL,
	"rows_imported" integer DEFAULT 0 NOT NULL,
	"rows_merged" integer DEFAULT 0 NOT NULL,
	"rows_rejected" integer DEFAULT 0 NOT NULL,
	"recipient_count" integer DEFAULT 0 NOT NULL,
	"error_message" text,
	"created_by_user_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"queued_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"cancel_requested_at" timestamp with time zone,
	CONSTRAINT "mail_drop_tenant_id_id_key" UNIQUE("tenant_id","id"),
	CONSTRAINT "mail_drop_tenant_id_campaign_id_id_key" UNIQUE("tenant_id","campaign_id","id")
);
--> statement-breakpoint
CREATE TABLE "recipient" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"campaign_id" uuid NOT NULL,
	"created_drop_id" uuid NOT NULL,
	"tracking_code" text NOT NULL,
	"phone_e164" text,
	"first_name" text,
	"last_name" text,
	"email" text,
	"address" text,
	"postcode" text,
	"customer_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "recipient_tracking_code_chk" CHECK ("recipient"."tracking_code" ~ '^[0-9A-HJKMNP-TV-Z]{10}$'),
	CONSTRAINT "recipient_phone_e164_chk" CHECK ("recipient"."phone_e164" ~ '^\+[1-9][0-9]{6,14}$')
);
--> statement-breakpoint
CREATE TABLE "recipient_drop" (
	"tenant_id" uuid NOT NULL,
	"drop_id" uuid NOT NULL,
	"recipient_id" uuid NOT NULL,
	"line" integer NOT NULL,
	CONSTRAINT "recipient_drop_pk" PRIMARY KEY("drop_id","recipient_id")
);
--> statement-breakpoint
CREATE TABLE "recipient_import_error" (
	"tenant_id" uuid NOT NULL,
	"drop_id" uuid NOT NULL,
	"line" integer NOT NULL,
	"reason" text NOT NULL,
	"fields" jsonb NOT NULL,
	CONSTRAINT "recipient_import_error_pk" PRIMARY KEY("drop_id","line")
);
--> statement-breakpoint
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
ALTER TABLE "campaign" ADD CONSTRAINT "campaign_tenant_id_tenant_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenant"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "campaign_tracking_number" ADD CONSTRAINT "campaign_tracking_number_campaign_fk" FOREIGN KEY ("tenant_id","campaign_id") REFERENCES "public"."campaign"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mail_drop" ADD CONSTRAINT "mail_drop_created_by_user_id_user_id_fk" FOREIGN KEY ("created_by_user_id") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mail_drop" ADD CONSTRAINT "mail_drop_campaign_fk" FOREIGN KEY ("tenant_id","campaign_id") REFERENCES "public"."campaign"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "recipient" ADD CONSTRAINT "recipient_created_drop_fk" FOREIGN KEY ("tenant_id","campaign_id","created_drop_id") REFERENCES "public"."mail_drop"("tenant_id","campaign_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "recipient_drop" ADD CONSTRAINT "recipient_drop_recipient_id_recipient_id_fk" FOREIGN KEY ("recipient_id") REFERENCES "public"."recipient"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "recipient_drop" ADD CONSTRAINT "recipient_drop_drop_fk" FOREIGN KEY ("tenant_id","drop_id") REFERENCES "public"."mail_drop"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "recipient_import_error" ADD CONSTRAINT "recipient_import_error_drop_fk" FOREIGN KEY ("tenant_id","drop_id") REFERENCES "public"."mail_drop"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "campaign_tenant_id_name_idx" ON "campaign" USING btree ("tenant_id",lower("name"));--> statement-breakpoint
CREATE INDEX "campaign_tenant_id_created_at_idx" ON "campaign" USING btree ("tenant_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "campaign_tracking_number_tenant_id_phone_e164_idx" ON "campaign_tracking_number" USING btree ("tenant_id","phone_e164");--> statement-breakpoint
CREATE INDEX "mail_drop_campaign_id_created_at_idx" ON "mail_drop" USING btree ("campaign_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "recipient_tracking_code_idx" ON "recipient" USING btree ("tracking_code");--> statement-breakpoint
CREATE UNIQUE INDEX "recipient_campaign_id_phone_e164_idx" ON "recipient" USING btree ("campaign_id","phone_e164");--> statement-breakpoint
CREATE UNIQUE INDEX "recipient_campaign_id_customer_id_idx" ON "recipient" USING btree ("campaign_id","customer_id");--> statement-breakpoint
CREATE INDEX "recipient_drop_recipient_id_idx" ON "recipient_drop" USING btree ("recipient_id");