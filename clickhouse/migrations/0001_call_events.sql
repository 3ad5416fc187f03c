-- Call facts relayed from the PostgreSQL outbox (src/lib/server/ingest/relay.ts). Every conversation version writes
-- a fact (sign = 1) and, if an earlier version was live, its exact retraction (sign = -1), so sums over sign are
-- exact without rewriting history. event_id is deterministic ("<conversation_id>:<version>:fact|retract").
-- ReplacingMergeTree keyed by event_id (the key's other columns are fixed by the event) collapses a batch the
-- relay re-inserted after a crash; exact queries read it with FINAL. 18.16: no LowCardinality, no DateTime64.
CREATE TABLE call_events (
	event_id String,
	tenant_id UUID,
	connection_id UUID,
	conversation_id String,
	agent_id String,
	version UInt32,
	sign Int8,
	started_at DateTime('UTC'),
	duration_secs UInt32,
	status String,
	call_successful String,
	direction String,
	call_result String,
	cost Float64,
	has_audio UInt8,
	batch_call_id String,
	agent_number String,
	emitted_at DateTime('UTC')
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(started_at)
ORDER BY (tenant_id, started_at, event_id);

-- Sign-weighted 15-minute rollup: fine enough to cut days at any tenant's local midnight (offsets of :30/:45
-- included), small enough for dashboards. Fed only by inserts, so it relies on the relay never re-inserting an
-- event it already delivered (the in-doubt check in relay.ts); call_events FINAL is the exact reference.
CREATE TABLE calls_15m (
	tenant_id UUID,
	bucket DateTime('UTC'),
	agent_id String,
	status String,
	direction String,
	call_successful String,
	calls Int64,
	duration_secs Int64,
	cost Float64
) ENGINE = SummingMergeTree((calls, duration_secs, cost))
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, bucket, agent_id, status, direction, call_successful);

CREATE MATERIALIZED VIEW calls_15m_mv TO calls_15m AS
SELECT
	tenant_id,
	toStartOfFifteenMinutes(started_at) AS bucket,
	agent_id,
	status,
	direction,
	call_successful,
	toInt64(sign) AS calls,
	toInt64(sign) * toInt64(duration_secs) AS duration_secs,
	sign * cost AS cost
FROM call_events;
