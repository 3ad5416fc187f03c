import type PgBoss from 'pg-boss';
import type { DbHandle } from '../../db/client';
import type { ClickHouseClient } from '../../analytics/client';
import type { JobName, JobPayload } from '../names';
import { conversationSyncHandler, conversationSyncTickHandler } from './conversation-sync';
import { heartbeatHandler } from './heartbeat';
import { numbersReconcileHandler, numbersResumeHandler } from './numbers';
import { outboxRelayHandler } from './outbox-relay';
import { recipientsImportHandler, recipientsImportSweepHandler } from './recipients-import';
import { webhookProcessHandler } from './webhook-process';

export interface JobDeps {
	db: DbHandle;
	ch: ClickHouseClient;
	boss: PgBoss;
	workerId: string;
}

export interface JobHandler<N extends JobName = JobName> {
	name: N;
	/** pg-boss work options: batch size and polling interval for this queue. */
	options?: PgBoss.WorkOptions;
	/** Optional cron schedule (pg-boss schedule) for this queue. */
	cron?: string;
	/** Queue one job with an empty payload when a worker starts (for self-perpetuating loops). */
	startOnBoot?: boolean;
	handle(payloads: JobPayload<N>[], deps: JobDeps): Promise<void>;
}

// One handler file per job; the worker registers every handler listed here.
export const handlers: JobHandler[] = [
	heartbeatHandler as JobHandler,
	webhookProcessHandler as JobHandler,
	outboxRelayHandler as JobHandler,
	conversationSyncTickHandler as JobHandler,
	conversationSyncHandler as JobHandler,
	recipientsImportHandler as JobHandler,
	recipientsImportSweepHandler as JobHandler,
	numbersResumeHandler as JobHandler,
	numbersReconcileHandler as JobHandler
];
