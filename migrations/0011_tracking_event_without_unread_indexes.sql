DROP INDEX "tracking_event_tenant_id_campaign_id_occurred_at_idx";--> statement-breakpoint
DROP INDEX "tracking_event_recipient_id_idx";