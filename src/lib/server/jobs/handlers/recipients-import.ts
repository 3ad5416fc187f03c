import { resolve } from 'node:path';
import { env } from '../../env';
import { log } from '../../log';
import { systemActor } from '../../services/context';
import { listDropsAwaitingImportJob, runRecipientImport } from '../../services/campaigns/recipient-import';
import { RECIPIENT_IMPORT_JOB_OPTIONS, sendJob } from '../boss';
import type { JobHandler } from './index';

// One job per mail drop; the engine is idempotent (a retried job starts the drop over from nothing).
export const recipientsImportHandler: JobHandler<'recipients.import'> = {
	name: 'recipients.import',
	options: { batchSize: 1, pollingIntervalSeconds: 0.5 },
	async handle(payloads, deps) {
		for (const { dropId } of payloads) {
			const outcome = await runRecipientImport({
				ctx: { db: deps.db.db, actor: systemActor('recipients.import') },
				input: { dropId, storageDir: resolve(env().UPLOAD_STORAGE_DIR) }
			});
			log.info('recipient import finished', { dropId, status: outcome.status, rows: outcome.rowsRead, rejected: outcome.rowsRejected });
		}
	}
};

// Safety net for the web's send-after-commit: drops queued a while ago with no job get one (singleton per drop).
export const recipientsImportSweepHandler: JobHandler<'recipients.import-sweep'> = {
	name: 'recipients.import-sweep',
	cron: '* * * * *',
	startOnBoot: true,
	async handle(_payloads, deps) {
		for (const dropId of await listDropsAwaitingImportJob(deps.db.db)) {
			await sendJob(deps.boss, 'recipients.import', { dropId }, RECIPIENT_IMPORT_JOB_OPTIONS(dropId));
		}
	}
};
