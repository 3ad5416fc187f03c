// Every PostgreSQL NOTIFY channel the app uses, in one place: a writer and its listener must agree on the name.

/** New webhook deliveries committed to `webhook_inbox`: wakes the inbox processor. */
export const INBOX_CHANNEL = 'ingest_inbox';
/** New outbox rows committed: wakes the relay to ClickHouse. */
export const OUTBOX_CHANNEL = 'ingest_outbox';
/** An agent or connection got a tenant: wakes the quarantine release sweep. */
export const QUARANTINE_CHANNEL = 'ingest_quarantine';
/** A connection was created, changed or deleted (payload: its id): web processes evict their cached secret. */
export const CONNECTION_CHANGES_CHANNEL = 'elevenlabs_connection_changed';
