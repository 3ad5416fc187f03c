CREATE TABLE "number_reconcile_run" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"ran_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ok" boolean NOT NULL,
	"checked" integer DEFAULT 0 NOT NULL,
	"drift" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "phone_number" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"e164" text NOT NULL,
	"twilio_account_id" uuid NOT NULL,
	"connection_id" uuid NOT NULL,
	"status" text NOT NULL,
	"friendly_name" text,
	"country" text NOT NULL,
	"twilio_sid" text,
	"elevenlabs_phone_number_id" text,
	"tenant_id" uuid,
	"agent_id" text,
	"campaign_tracking" boolean DEFAULT false NOT NULL,
	"attempts" smallint DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"released_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "platform_setting" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "twilio_account" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"account_sid" text NOT NULL,
	"auth_token_sealed" text NOT NULL,
	"auth_token_hint" text NOT NULL,
	"base_url" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "phone_number" ADD CONSTRAINT "phone_number_twilio_account_id_twilio_account_id_fk" FOREIGN KEY ("twilio_account_id") REFERENCES "public"."twilio_account"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "phone_number" ADD CONSTRAINT "phone_number_connection_id_elevenlabs_connection_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."elevenlabs_connection"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "phone_number" ADD CONSTRAINT "phone_number_tenant_id_tenant_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenant"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "number_reconcile_run_ran_at_idx" ON "number_reconcile_run" USING btree ("ran_at");--> statement-breakpoint
CREATE UNIQUE INDEX "phone_number_e164_idx" ON "phone_number" USING btree ("e164") WHERE "phone_number"."status" <> 'released';--> statement-breakpoint
CREATE INDEX "phone_number_tenant_id_idx" ON "phone_number" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "phone_number_pending_idx" ON "phone_number" USING btree ("next_attempt_at") WHERE "phone_number"."status" in ('purchasing', 'importing', 'syncing', 'releasing');--> statement-breakpoint
CREATE UNIQUE INDEX "twilio_account_account_sid_idx" ON "twilio_account" USING btree ("account_sid");