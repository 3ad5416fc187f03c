import { z } from 'zod';

// Every queue and the payload it carries. Senders and handlers both go through these schemas.
export const JOBS = {
	'system.heartbeat': z.object({}),
	// Ingestion loops: each job drains for a bounded time and queues its successor (see ingest/loops.ts).
	'webhook.process': z.object({}),
	'outbox.relay': z.object({}),
	'conversation.sync': z.object({ connectionId: z.string().uuid() }),
	'conversation.fetch': z.object({ connectionId: z.string().uuid(), conversationId: z.string() })
} as const;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOBS)[N]>;
export const JOB_NAMES = Object.keys(JOBS) as JobName[];
