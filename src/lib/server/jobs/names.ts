import { z } from 'zod';

// Every queue and the payload it carries. Senders and handlers both go through these schemas.
export const JOBS = {
	'system.heartbeat': z.object({}),
	'webhook.process': z.object({ inboxId: z.string() }),
	'outbox.relay': z.object({}),
	'conversation.sync': z.object({ connectionId: z.string().uuid() }),
	'conversation.fetch': z.object({ connectionId: z.string().uuid(), conversationId: z.string() }),
	'quarantine.release': z.object({ agentId: z.string() })
} as const;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOBS)[N]>;
export const JOB_NAMES = Object.keys(JOBS) as JobName[];
