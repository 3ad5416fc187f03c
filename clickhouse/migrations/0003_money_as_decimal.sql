-- Money and credits are exact decimals, never floats (issue 14). ElevenLabs `metadata.cost` credits arrive as decimal
-- text through the relay (JSONEachRow with the value written as a bare numeral: 18.16 refuses a quoted Decimal).
-- 18.16 converts Float64 to Decimal in place with MODIFY COLUMN on both engines (checked on 18.16.1), so the tables
-- keep their names and the materialized view keeps feeding calls_15m; its `sign * cost` now yields Decimal(18, 6)
-- (Int8 times Decimal64 keeps the scale). Existing float values are converted once, to 6 decimal places.
ALTER TABLE call_events MODIFY COLUMN cost Decimal(18, 6);
ALTER TABLE calls_15m MODIFY COLUMN cost Decimal(18, 6);

-- The view's own column list (shown by SHOW CREATE) still said Float64; rows already passed through exactly (checked
-- with 18 significant digits), but the view is recreated so its declared shape matches the rollup. Between the DROP and
-- the CREATE an insert would miss the rollup: npm start and the test setup migrate before any relay runs.
DROP TABLE calls_15m_mv;
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
