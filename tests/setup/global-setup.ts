import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clickhouseTarget, parseEnv } from '../../src/lib/server/env';
import { migrateAll } from '../../src/lib/server/migrate/index';
import { testEnv } from './test-env';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
let done = false;

// Once per run: start the project-local stores unless the caller points at its own, then migrate the test
// databases (separate from the demo's).
export default async function setup() {
	if (done) return;
	done = true;
	if (!process.env.TEST_DATABASE_URL || !process.env.TEST_CLICKHOUSE_URL) {
		execFileSync('bash', [resolve(root, 'scripts/stores.sh'), 'up'], { stdio: ['ignore', 'ignore', 'inherit'] });
	}
	const e = parseEnv(testEnv());
	Object.assign(process.env, testEnv());
	await migrateAll({ databaseUrl: e.DATABASE_URL, clickhouse: clickhouseTarget(e), root });
}
