import { z } from 'zod';

// Every ClickHouse table the app reads or writes: its name (identifiers come from code, never input) and, for the
// tables rows are inserted into, the row schema. clickhouse/migrations/ creates them; clickhouse/schema.sql is the
// generated snapshot. The outbox relay may only write to RELAY_TARGETS.

/** DateTime text as ClickHouse 18.16 parses it in JSONEachRow: 'YYYY-MM-DD hh:mm:ss', UTC. */
const chDateTimeText = z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

/** Scale of every money and credits column (Decimal(18, 6) in ClickHouse, numeric(18, 6) in PostgreSQL). */
export const MONEY_SCALE = 6;
/**
 * Decimal(18, 6) as exact text: at most 12 integer digits and 6 decimals, no exponent. Rows carry it as a string;
 * encodeJsonEachRow writes it as a bare numeral, because 18.16 refuses a quoted Decimal in JSONEachRow.
 */
export const chDecimalText = z.string().regex(/^-?\d{1,12}(\.\d{1,6})?$/, 'expected decimal text with at most 12 integer digits and 6 decimals');

/**
 * call_events: one fact (sign = 1) per counted conversation version, and the retraction (sign = -1) of the fact it
 * replaces. ReplacingMergeTree on event_id; exact reads use FINAL.
 */
export const CALL_EVENTS_TABLE = 'call_events';
export const CallEventRow = z.object({
	event_id: z.string(),
	tenant_id: z.string().uuid(),
	connection_id: z.string().uuid(),
	conversation_id: z.string(),
	agent_id: z.string(),
	version: z.number().int().nonnegative(),
	sign: z.union([z.literal(1), z.literal(-1)]),
	started_at: chDateTimeText,
	duration_secs: z.number().int().nonnegative(),
	status: z.string(),
	call_successful: z.string(),
	direction: z.string(),
	call_result: z.string(),
	/** ElevenLabs credits, exact decimal text (never a float). */
	cost: chDecimalText,
	has_audio: z.union([z.literal(0), z.literal(1)]),
	batch_call_id: z.string(),
	agent_number: z.string(),
	emitted_at: chDateTimeText
});
/** One row of call_events, in the JSONEachRow shape the relay inserts. */
export type CallEventRow = z.infer<typeof CallEventRow>;

/**
 * calls_15m: call_events summed per tenant, quarter hour (UTC bucket start), agent, status, direction and success,
 * fed by the calls_15m_mv materialized view. Quarter hours cut cleanly at every IANA zone's midnight.
 */
export const CALLS_15M_TABLE = 'calls_15m';

/** Columns of call_events holding Decimal values, written as bare numerals by encodeJsonEachRow. */
export const CALL_EVENTS_DECIMAL_COLUMNS: readonly (keyof CallEventRow)[] = ['cost'];

export const TRACKING_KINDS = ['scan', 'page_view'] as const;
export type TrackingKind = (typeof TRACKING_KINDS)[number];

/**
 * tracking_events: one row per counted QR scan or landing-page view (sign = 1; a retraction would be sign = -1).
 * The event id is the PostgreSQL tracking_event row's id. ReplacingMergeTree on event_id; exact reads use FINAL.
 */
export const TRACKING_EVENTS_TABLE = 'tracking_events';
export const TrackingEventRow = z.object({
	event_id: z.string().uuid(),
	tenant_id: z.string().uuid(),
	campaign_id: z.string().uuid(),
	drop_id: z.string().uuid(),
	recipient_id: z.string().uuid(),
	kind: z.enum(TRACKING_KINDS),
	sign: z.union([z.literal(1), z.literal(-1)]),
	occurred_at: chDateTimeText,
	url: z.string(),
	emitted_at: chDateTimeText
});
/** One row of tracking_events, in the JSONEachRow shape the relay inserts. */
export type TrackingEventRow = z.infer<typeof TrackingEventRow>;

/**
 * Tables the outbox relay inserts into (outbox.target): the row schema its payloads follow and the time column of
 * its sort key (the relay's in-doubt lookup narrows by tenant and that time).
 */
export const RELAY_TARGETS = {
	[CALL_EVENTS_TABLE]: { row: CallEventRow, timeColumn: 'started_at' },
	[TRACKING_EVENTS_TABLE]: { row: TrackingEventRow, timeColumn: 'occurred_at' }
} as const;
/** Per relay target, its Decimal columns (written as bare numerals by encodeJsonEachRow). */
export const RELAY_DECIMAL_COLUMNS: Record<keyof typeof RELAY_TARGETS, readonly string[]> = {
	[CALL_EVENTS_TABLE]: CALL_EVENTS_DECIMAL_COLUMNS,
	[TRACKING_EVENTS_TABLE]: []
};
export type RelayTarget = keyof typeof RELAY_TARGETS;

export function isRelayTarget(name: string): name is RelayTarget {
	return Object.hasOwn(RELAY_TARGETS, name);
}
