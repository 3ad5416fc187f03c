CREATE SEQUENCE "public"."statement_number_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1001 CACHE 1;--> statement-breakpoint
CREATE TABLE "billing_rule" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"effective_from" text NOT NULL,
	"rounding" text NOT NULL,
	"rounding_secs" integer NOT NULL,
	"min_billable_secs" integer DEFAULT 0 NOT NULL,
	"count_failed_calls" boolean DEFAULT false NOT NULL,
	"included_minutes" integer DEFAULT 0 NOT NULL,
	"price_per_minute" numeric(18, 6) NOT NULL,
	"price_per_conversion" numeric(18, 6) DEFAULT '0' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" text NOT NULL,
	CONSTRAINT "billing_rule_tenant_id_version_key" UNIQUE("tenant_id","version"),
	CONSTRAINT "billing_rule_rounding_secs_chk" CHECK ("billing_rule"."rounding_secs" between 1 and 86400),
	CONSTRAINT "billing_rule_amounts_chk" CHECK ("billing_rule"."min_billable_secs" >= 0 and "billing_rule"."included_minutes" >= 0 and "billing_rule"."price_per_minute" >= 0 and "billing_rule"."price_per_conversion" >= 0)
);
--> statement-breakpoint
CREATE TABLE "statement" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"number" bigint DEFAULT nextval('statement_number_seq') NOT NULL,
	"tenant_id" uuid NOT NULL,
	"period" text NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"period_end" timestamp with time zone NOT NULL,
	"timezone" text NOT NULL,
	"rule_id" uuid NOT NULL,
	"rule_version" integer NOT NULL,
	"status" text DEFAULT 'closed' NOT NULL,
	"calls" integer NOT NULL,
	"connected_secs" bigint NOT NULL,
	"billable_secs" bigint NOT NULL,
	"included_secs" bigint NOT NULL,
	"chargeable_secs" bigint NOT NULL,
	"upstream_cost" numeric(18, 6) NOT NULL,
	"telephony_cost" numeric(18, 6) NOT NULL,
	"usage_price" numeric(18, 2) NOT NULL,
	"adjustments_price" numeric(18, 2) NOT NULL,
	"total_price" numeric(18, 2) NOT NULL,
	"closed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"closed_by" text NOT NULL,
	"reopened_at" timestamp with time zone,
	"reopened_by" text,
	"reopen_reason" text
);
--> statement-breakpoint
CREATE TABLE "statement_line" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"statement_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"agent_id" text,
	"campaign_id" uuid,
	"corrects_period" text,
	"corrects_statement_id" uuid,
	"calls" integer NOT NULL,
	"connected_secs" bigint NOT NULL,
	"billable_secs" bigint NOT NULL,
	"chargeable_secs" bigint NOT NULL,
	"upstream_cost" numeric(18, 6) NOT NULL,
	"telephony_cost" numeric(18, 6) NOT NULL,
	"price" numeric(18, 2) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "telephony_rate" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid,
	"phone_number" text,
	"per_minute" numeric(18, 6) NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "telephony_rate_tenant_id_phone_number_key" UNIQUE NULLS NOT DISTINCT("tenant_id","phone_number")
);
--> statement-breakpoint
CREATE TABLE "upstream_credit_rate" (
	"connection_id" uuid PRIMARY KEY NOT NULL,
	"per_credit" numeric(18, 9) NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "conversation" ALTER COLUMN "cost" SET DATA TYPE numeric(18, 6);--> statement-breakpoint
ALTER TABLE "billing_rule" ADD CONSTRAINT "billing_rule_tenant_id_tenant_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenant"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "statement" ADD CONSTRAINT "statement_tenant_id_tenant_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenant"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "statement" ADD CONSTRAINT "statement_rule_id_billing_rule_id_fk" FOREIGN KEY ("rule_id") REFERENCES "public"."billing_rule"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "statement_line" ADD CONSTRAINT "statement_line_statement_id_statement_id_fk" FOREIGN KEY ("statement_id") REFERENCES "public"."statement"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "statement_line" ADD CONSTRAINT "statement_line_corrects_statement_id_statement_id_fk" FOREIGN KEY ("corrects_statement_id") REFERENCES "public"."statement"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "telephony_rate" ADD CONSTRAINT "telephony_rate_tenant_id_tenant_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenant"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "upstream_credit_rate" ADD CONSTRAINT "upstream_credit_rate_connection_id_elevenlabs_connection_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."elevenlabs_connection"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "billing_rule_tenant_id_effective_from_idx" ON "billing_rule" USING btree ("tenant_id","effective_from");--> statement-breakpoint
CREATE UNIQUE INDEX "statement_number_idx" ON "statement" USING btree ("number");--> statement-breakpoint
CREATE UNIQUE INDEX "statement_tenant_id_period_closed_idx" ON "statement" USING btree ("tenant_id","period") WHERE "statement"."status" = 'closed';--> statement-breakpoint
CREATE INDEX "statement_tenant_id_period_idx" ON "statement" USING btree ("tenant_id","period");--> statement-breakpoint
CREATE INDEX "statement_line_statement_id_idx" ON "statement_line" USING btree ("statement_id");--> statement-breakpoint
CREATE INDEX "statement_line_corrects_statement_id_idx" ON "statement_line" USING btree ("corrects_statement_id");