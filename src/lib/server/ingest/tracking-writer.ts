import type postgres from 'postgres';
import { OUTBOX_CHANNEL } from './upsert';
import { projectTrackingFact, TRACKING_EVENTS_TABLE, type TrackingFactSource } from './tracking-facts';

// Group commit for QR scans and page views. Concurrent hits share one statement that inserts their tracking_event
// rows and their outbox rows together (a data-modifying CTE: one statement, one transaction, one WAL flush), and
// each request waits for that commit before its redirect or pixel is sent. So a scan that was answered is durable
// in PostgreSQL with its outbox row, and the relay takes it to ClickHouse exactly once, whenever ClickHouse answers.

/** The relay is woken at most this often (the first commit after a quiet spell at once). */
const NOTIFY_INTERVAL_MS = 50;

// One JSON parameter for the whole batch: the text is the same for every batch size (prepared once), and no value
// needs array-literal escaping. The outbox payload travels inside each element, built by projectTrackingFact.
const INSERT_EVENTS_AND_OUTBOX = `
with batch as (
	select * from jsonb_to_recordset($1::jsonb) as x(
		id uuid, tenant_id uuid, campaign_id uuid, drop_id uuid, recipient_id uuid, kind text, occurred_at timestamptz, url text, payload jsonb)
), events as (
	insert into tracking_event (id, tenant_id, campaign_id, drop_id, recipient_id, kind, occurred_at, url)
	select id, tenant_id, campaign_id, drop_id, recipient_id, kind, occurred_at, url from batch
)
insert into outbox (event_id, target, payload)
select id::text, '${TRACKING_EVENTS_TABLE}', payload from batch`;

interface Waiter {
	event: TrackingFactSource;
	resolve: () => void;
	reject: (err: unknown) => void;
}

export interface TrackingWriterStats {
	batches: number;
	rows: number;
	largestBatch: number;
}

export class TrackingWriter {
	readonly stats: TrackingWriterStats = { batches: 0, rows: 0, largestBatch: 0 };
	private queue: Waiter[] = [];
	private inflight = false;
	private scheduled = false;
	private readonly idle: Array<() => void> = [];
	private lastNotifyAt = -Infinity;
	private notifyTimer: NodeJS.Timeout | null = null;

	constructor(
		private readonly sql: postgres.Sql,
		private readonly maxBatchRows = 500
	) {}

	/** Resolves once the event and its outbox row are committed; rejects if the batch's statement failed. */
	write(event: TrackingFactSource): Promise<void> {
		return new Promise((resolve, reject) => {
			this.queue.push({ event, resolve, reject });
			this.schedule();
		});
	}

	/** Resolves when nothing is queued or in flight. */
	async drain(): Promise<void> {
		if (this.queue.length === 0 && !this.inflight) return;
		await new Promise<void>((r) => this.idle.push(r));
	}

	private schedule(): void {
		if (this.scheduled || this.inflight || this.queue.length === 0) return;
		this.scheduled = true;
		// After the current I/O phase, so requests that arrived together share a batch.
		setImmediate(() => {
			this.scheduled = false;
			this.flush();
		});
	}

	private flush(): void {
		if (this.inflight || this.queue.length === 0) return;
		const batch = this.queue.splice(0, this.maxBatchRows);
		this.inflight = true;
		this.insert(batch)
			.then(() => {
				for (const w of batch) w.resolve();
			})
			.catch((err) => {
				for (const w of batch) w.reject(err);
			})
			.finally(() => {
				this.inflight = false;
				if (this.queue.length > 0) this.schedule();
				else for (const r of this.idle.splice(0)) r();
			});
	}

	private async insert(batch: Waiter[]): Promise<void> {
		const now = new Date();
		const rows = batch.map(({ event: e }) => ({
			id: e.id,
			tenant_id: e.tenantId,
			campaign_id: e.campaignId,
			drop_id: e.dropId,
			recipient_id: e.recipientId,
			kind: e.kind,
			occurred_at: e.occurredAt.toISOString(),
			url: e.url,
			payload: projectTrackingFact(e, now)
		}));
		await this.sql.unsafe(INSERT_EVENTS_AND_OUTBOX, [JSON.stringify(rows)], { prepare: true });
		this.stats.batches++;
		this.stats.rows += batch.length;
		this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
		this.wakeRelay();
	}

	/** NOTIFY after the commit (never inside it, see upsert.ts wakeRelay), at most once per NOTIFY_INTERVAL_MS. */
	private wakeRelay(): void {
		if (this.notifyTimer) return;
		const wait = this.lastNotifyAt + NOTIFY_INTERVAL_MS - performance.now();
		const notify = () => {
			this.notifyTimer = null;
			this.lastNotifyAt = performance.now();
			this.sql`select pg_notify(${OUTBOX_CHANNEL}, '')`.catch(() => {});
		};
		if (wait <= 0) return notify();
		this.notifyTimer = setTimeout(notify, wait);
		this.notifyTimer.unref();
	}
}
