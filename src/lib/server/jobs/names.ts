import { z } from 'zod';

// Every queue and the payload it carries. Senders and handlers both go through these schemas.
export const JOBS = {
	'system.heartbeat': z.object({}),
	// Ingestion loops: each job drains for a bounded time and queues its successor (see ingest/loops.ts).
	'webhook.process': z.object({}),
	'outbox.relay': z.object({}),
	// Polling sync: a one-minute cron tick queues a run per connection that is due (see handlers/conversation-sync.ts).
	'conversation.sync-tick': z.object({}),
	// queuedAt (ISO): a run queued before the connection's last poll finished is skipped as redundant.
	'conversation.sync': z.object({ connectionId: z.string().uuid(), queuedAt: z.iso.datetime().optional() }),
	// Recipient CSV imports: one job per mail drop; a one-minute sweep re-queues drops whose job was never sent.
	'recipients.import': z.object({ dropId: z.uuid() }),
	'recipients.import-sweep': z.object({}),
	// Phone-number pool: a one-minute tick advances numbers whose failed step is due again; reconcile reports drift.
	'numbers.resume': z.object({}),
	'numbers.reconcile': z.object({})
} as const;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOBS)[N]>;
export const JOB_NAMES = Object.keys(JOBS) as JobName[];
