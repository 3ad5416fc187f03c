-- QR scans and landing-page views, relayed from the PostgreSQL outbox like call facts (src/lib/server/ingest/
-- tracking-facts.ts). event_id is the tracking_event row's id, fixed when the scan is recorded, so a re-sent relay
-- batch carries identical ids and ReplacingMergeTree (read with FINAL) counts a re-inserted row once. sign follows
-- call_events: a future correction (a recipient deleted, an event found to be a bot) is a retraction row (-1),
-- never a rewrite. Sort key: tenant, then campaign (every funnel read names one), then time.
-- No rollup: unique recipients must be exact (uniqExact over recipients whose events net positive), which needs the
-- raw rows anyway, and reading events and uniques from one FINAL source keeps the two consistent.
-- 18.16: no LowCardinality, no DateTime64.
CREATE TABLE tracking_events (
	event_id String,
	tenant_id UUID,
	campaign_id UUID,
	drop_id UUID,
	recipient_id UUID,
	kind String,
	sign Int8,
	occurred_at DateTime('UTC'),
	url String,
	emitted_at DateTime('UTC')
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, campaign_id, occurred_at, event_id);
