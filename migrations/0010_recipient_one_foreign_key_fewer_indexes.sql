-- The unique key comes first: the new foreign key references it (drizzle-kit listed it last).
ALTER TABLE "mail_drop" ADD CONSTRAINT "mail_drop_tenant_id_campaign_id_id_key" UNIQUE("tenant_id","campaign_id","id");--> statement-breakpoint
ALTER TABLE "recipient" DROP CONSTRAINT "recipient_campaign_fk";
--> statement-breakpoint
ALTER TABLE "recipient" DROP CONSTRAINT "recipient_created_drop_fk";
--> statement-breakpoint
DROP INDEX "recipient_tenant_id_phone_e164_idx";--> statement-breakpoint
DROP INDEX "recipient_created_drop_id_idx";--> statement-breakpoint
DROP INDEX "recipient_campaign_id_phone_e164_idx";--> statement-breakpoint
DROP INDEX "recipient_campaign_id_customer_id_idx";--> statement-breakpoint
ALTER TABLE "recipient" ADD CONSTRAINT "recipient_created_drop_fk" FOREIGN KEY ("tenant_id","campaign_id","created_drop_id") REFERENCES "public"."mail_drop"("tenant_id","campaign_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "recipient_campaign_id_phone_e164_idx" ON "recipient" USING btree ("campaign_id","phone_e164");--> statement-breakpoint
CREATE UNIQUE INDEX "recipient_campaign_id_customer_id_idx" ON "recipient" USING btree ("campaign_id","customer_id");--> statement-breakpoint
