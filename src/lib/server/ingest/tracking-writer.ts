import type postgres from 'postgres';
import { OUTBOX_CHANNEL } from '../db/channels';
import { boundQuery } from '../outage';
import { TRACKING_EVENTS_TABLE, type TrackingKind } from '../analytics/tables';

// Group commit for QR scans and page views, one statement per batch. Concurrent hits share one statement that
// resolves their codes (recipient → campaign, tenant, and the drop the hit belongs to) and, for the hits a person
// made, inserts their tracking_event rows and their outbox rows (data-modifying CTEs: one statement, one
// transaction, one WAL flush). Each request waits for that commit before its redirect or pixel is sent, so a scan
// that was answered is durable in PostgreSQL with its outbox row, and the relay takes it to ClickHouse exactly once,
// whenever ClickHouse answers. One round trip per batch: resolving and recording in separate statements cost a
// second round trip on every scan (a scan is rarely repeated, so a cache of codes saves little).
//
// Visibility and drop choice: only completed drops exist here (an import still running, failed or cancelled is
// invisible); a hit belongs to the latest completed drop that reached its recipient on or before the hit's local day
// in the tenant's timezone, or to the recipient's first drop when it predates them all.

/** The relay is woken at most this often (the first commit after a quiet spell at once). */
const NOTIFY_INTERVAL_MS = 50;

/**
 * The outbox payload is built here, in the JSONEachRow shape of ClickHouse tracking_events (tracking-facts.ts
 * TrackingEventRow; tests/integration/tracking.test.ts checks the two agree). DateTime text is whole seconds, UTC.
 */
const RESOLVE_AND_RECORD = `
with hits as (
	select * from jsonb_to_recordset($1::jsonb) as x(i int, id uuid, code text, kind text, occurred_at timestamptz, url text, counted boolean)
), resolved as (
	select h.i, h.id, h.kind, h.occurred_at, h.url, h.counted, r.id as recipient_id, r.tenant_id, r.campaign_id,
		c.name, c.channel, c.landing_url, c.utm_source, c.utm_medium, c.utm_campaign, chosen.drop_id
	from hits h
	-- A lateral lookup per hit, so each code is one probe of the unique index: a plain join let the planner (which
	-- guesses 100 rows from jsonb_to_recordset) hash the batch against a scan of every recipient.
	-- (limit 1 keeps the subquery from being flattened back into that join.)
	cross join lateral (select id, tenant_id, campaign_id from recipient where tracking_code = h.code limit 1) r
	join campaign c on c.id = r.campaign_id
	join tenant t on t.id = r.tenant_id
	cross join lateral (
		select d.id as drop_id
		from recipient_drop rd
		join mail_drop d on d.id = rd.drop_id and d.status = 'completed'
		where rd.recipient_id = r.id
		order by d.sent_on <= (h.occurred_at at time zone t.timezone)::date desc,
			case when d.sent_on <= (h.occurred_at at time zone t.timezone)::date then d.sent_on end desc,
			case when d.sent_on <= (h.occurred_at at time zone t.timezone)::date then d.created_at end desc,
			d.sent_on, d.created_at
		limit 1
	) chosen
), events as (
	insert into tracking_event (id, tenant_id, campaign_id, drop_id, recipient_id, kind, occurred_at, url)
	select id, tenant_id, campaign_id, drop_id, recipient_id, kind, occurred_at, url from resolved where counted
), queued as (
	insert into outbox (event_id, target, payload)
	select id::text, '${TRACKING_EVENTS_TABLE}', jsonb_build_object(
		'event_id', id::text, 'tenant_id', tenant_id, 'campaign_id', campaign_id, 'drop_id', drop_id,
		'recipient_id', recipient_id, 'kind', kind, 'sign', 1,
		'occurred_at', to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS'),
		'url', coalesce(url, ''),
		'emitted_at', to_char(now() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS'))
	from resolved where counted
)
select i, recipient_id, tenant_id, campaign_id, drop_id, name, channel, landing_url, utm_source, utm_medium, utm_campaign from resolved`;

/** How long a batch's scans wait for its statement before they are answered as failed (503). */
const WRITE_TIMEOUT_MS = 20_000;

export interface TrackingHitRecord {
	/** The event id (also ClickHouse's), chosen by the caller. */
	id: string;
	/** A normalised tracking code. */
	code: string;
	kind: TrackingKind;
	occurredAt: Date;
	url: string | null;
	/** False for a bot, a prefetch or a HEAD: resolved for its answer, recorded nowhere. */
	counted: boolean;
}

/** What a code resolved to: enough to answer the hit. */
export interface ResolvedTrackingHit {
	recipientId: string;
	tenantId: string;
	campaignId: string;
	dropId: string;
	campaign: { name: string; channel: string; landingUrl: string | null; utmSource: string | null; utmMedium: string | null; utmCampaign: string | null };
}

interface ResolvedRow {
	i: number;
	recipient_id: string;
	tenant_id: string;
	campaign_id: string;
	drop_id: string;
	name: string;
	channel: string;
	landing_url: string | null;
	utm_source: string | null;
	utm_medium: string | null;
	utm_campaign: string | null;
}

interface Waiter {
	hit: TrackingHitRecord;
	resolve: (r: ResolvedTrackingHit | null) => void;
	reject: (err: unknown) => void;
}

export interface TrackingWriterStats {
	batches: number;
	/** Hits resolved (counted or not). */
	hits: number;
	/** Hits recorded (a tracking_event and an outbox row each). */
	rows: number;
	largestBatch: number;
}

export class TrackingWriter {
	readonly stats: TrackingWriterStats = { batches: 0, hits: 0, rows: 0, largestBatch: 0 };
	private queue: Waiter[] = [];
	private inflight = 0;
	private scheduled = false;
	private readonly idle: Array<() => void> = [];
	private lastNotifyAt = -Infinity;
	private notifyTimer: NodeJS.Timeout | null = null;

	constructor(
		private readonly sql: postgres.Sql,
		private readonly opts: { maxBatchRows?: number; maxConcurrent?: number } = {}
	) {}

	/**
	 * Resolves the hit's code and, when it is counted, records it; settles once that is committed. Null when the code
	 * names nothing visible (nothing was written). Rejects if the batch's statement failed.
	 */
	record(hit: TrackingHitRecord): Promise<ResolvedTrackingHit | null> {
		return new Promise((resolve, reject) => {
			this.queue.push({ hit, resolve, reject });
			this.schedule();
		});
	}

	/** Resolves when nothing is queued or in flight. */
	async drain(): Promise<void> {
		if (this.queue.length === 0 && this.inflight === 0) return;
		await new Promise<void>((r) => this.idle.push(r));
	}

	private schedule(): void {
		if (this.scheduled || this.inflight >= (this.opts.maxConcurrent ?? 1) || this.queue.length === 0) return;
		this.scheduled = true;
		// After the current I/O phase, so requests that arrived together share a batch.
		setImmediate(() => {
			this.scheduled = false;
			this.flush();
		});
	}

	private flush(): void {
		while (this.inflight < (this.opts.maxConcurrent ?? 1) && this.queue.length > 0) {
			const batch = this.queue.splice(0, this.opts.maxBatchRows ?? 500);
			this.inflight++;
			// Bounded like the inbox's group commit: a statement that never settles answers its scans 503, not never.
			boundQuery(this.run(batch), WRITE_TIMEOUT_MS, 'tracking batch')
				.catch((err) => {
					for (const w of batch) w.reject(err);
				})
				.finally(() => {
					this.inflight--;
					if (this.queue.length > 0) this.schedule();
					else if (this.inflight === 0) for (const r of this.idle.splice(0)) r();
				});
		}
	}

	private async run(batch: Waiter[]): Promise<void> {
		const param = JSON.stringify(
			batch.map(({ hit: h }, i) => ({ i, id: h.id, code: h.code, kind: h.kind, occurred_at: h.occurredAt.toISOString(), url: h.url, counted: h.counted }))
		);
		// Prepared once: the text is the same for every batch.
		const rows = await this.sql.unsafe<ResolvedRow[]>(RESOLVE_AND_RECORD, [param], { prepare: true });
		const byIndex = new Map(rows.map((r) => [r.i, r]));
		let recorded = 0;
		batch.forEach((w, i) => {
			const r = byIndex.get(i);
			if (!r) return w.resolve(null);
			if (w.hit.counted) recorded++;
			w.resolve({
				recipientId: r.recipient_id,
				tenantId: r.tenant_id,
				campaignId: r.campaign_id,
				dropId: r.drop_id,
				campaign: { name: r.name, channel: r.channel, landingUrl: r.landing_url, utmSource: r.utm_source, utmMedium: r.utm_medium, utmCampaign: r.utm_campaign }
			});
		});
		this.stats.batches++;
		this.stats.hits += batch.length;
		this.stats.rows += recorded;
		this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
		if (recorded > 0) this.wakeRelay();
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
