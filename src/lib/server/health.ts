import type { ClickHouseClient } from '@clickhouse/client';
import type postgres from 'postgres';
import { describeOutageError, outages, reportFailure, reportSuccess } from './outage';

export interface ComponentHealth {
	ok: boolean;
	detail?: string;
	[k: string]: unknown;
}
export interface Health {
	ok: boolean;
	down: string[];
	components: Record<string, ComponentHealth>;
}

const TIMEOUT_MS = 2000;
const HEALTH_COMPONENT = 'health check';

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
	return Promise.race([
		p,
		new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS))
	]);
}

function message(err: unknown) {
	return err instanceof Error ? err.message : String(err);
}

/** Checks each store independently, so one being down never hides the state of the others. */
export async function checkHealth(deps: { sql: postgres.Sql; ch: ClickHouseClient }): Promise<Health> {
	const [postgresH, clickhouseH, queueH, outboxH, inboxH] = await Promise.all([
		withTimeout(deps.sql`select 1`, 'PostgreSQL').then(
			() => {
				reportSuccess(HEALTH_COMPONENT);
				return { ok: true };
			},
			(err) => {
				// Polled by load balancers every few seconds: an outage is logged once, not per probe.
				const unavailable = reportFailure(HEALTH_COMPONENT, err, 'health checks answered 503');
				return { ok: false, detail: unavailable ? `unavailable (${describeOutageError(err)})` : message(err) };
			}
		),
		withTimeout(deps.ch.ping(), 'ClickHouse').then(
			(r) => (r.success ? { ok: true } : { ok: false, detail: message(r.error) }),
			(err) => ({ ok: false, detail: message(err) })
		),
		withTimeout(
			deps.sql<{ queued: number; active: number; worker_age_s: number | null }[]>`
				select
					(select count(*)::int from pgboss.job where state in ('created', 'retry')) as queued,
					(select count(*)::int from pgboss.job where state = 'active') as active,
					(select extract(epoch from now() - max(seen_at))::int from worker_heartbeat) as worker_age_s`,
			'job queue'
		).then(
			([r]) => {
				// A worker that has not stamped its heartbeat for a minute is not working the queue.
				const workerOk = r.worker_age_s !== null && r.worker_age_s < 60;
				return {
					ok: workerOk,
					queued: r.queued,
					active: r.active,
					workerLastSeenSecondsAgo: r.worker_age_s,
					...(workerOk ? {} : { detail: r.worker_age_s === null ? 'no worker has started' : `no worker heartbeat for ${r.worker_age_s}s` })
				};
			},
			(err) => ({ ok: false, detail: message(err) })
		),
		withTimeout(
			deps.sql<{ pending: number; oldest_s: number | null }[]>`
				select count(*)::int as pending, extract(epoch from now() - min(created_at))::int as oldest_s
				from outbox`,
			'outbox'
		).then(
			([r]) => ({ ok: true, pending: r.pending, oldestPendingSeconds: r.oldest_s }),
			// Before ingestion is migrated there is no outbox; that is not an outage.
			(err) => (/relation "outbox" does not exist/.test(message(err)) ? { ok: true, pending: 0 } : { ok: false, detail: message(err) })
		),
		// Webhooks accepted but not yet processed: during a burst the processor defers to the intake (up to
		// INBOX_MAX_LAG_SECONDS), so a backlog here is information, not an outage.
		withTimeout(
			deps.sql<{ pending: number; oldest_s: number | null }[]>`
				select count(*)::int as pending, extract(epoch from now() - min(received_at))::int as oldest_s
				from webhook_inbox where status = 'pending'`,
			'webhook inbox'
		).then(
			([r]) => ({ ok: true, pending: r.pending, oldestPendingSeconds: r.oldest_s }),
			(err) => (/relation "webhook_inbox" does not exist/.test(message(err)) ? { ok: true, pending: 0 } : { ok: false, detail: message(err) })
		)
	]);
	const components: Record<string, ComponentHealth> = {
		postgres: postgresH,
		clickhouse: clickhouseH,
		queue: queueH,
		outbox: outboxH,
		inbox: inboxH
	};
	// This process's components that are riding out a PostgreSQL outage now (outage.ts), with how long and how often.
	const outagesNow = outages.current();
	if (Object.keys(outagesNow).length > 0) components.postgres = { ...components.postgres, outages: outagesNow };
	const down = Object.entries(components)
		.filter(([, c]) => !c.ok)
		.map(([k]) => k);
	return { ok: down.length === 0, down, components };
}
