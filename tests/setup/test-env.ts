// Resolves the test stores: the given TEST_* / *_URL variables, or the project-local servers' test databases.
export const TEST_APP_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';

export function testStoreUrls() {
	const pgPort = process.env.VOXCALLS_PG_PORT ?? '55432';
	const chPort = process.env.VOXCALLS_CH_HTTP_PORT ?? '58123';
	return {
		DATABASE_URL: process.env.TEST_DATABASE_URL ?? `postgres://postgres@127.0.0.1:${pgPort}/voxcalls_test`,
		CLICKHOUSE_URL: process.env.TEST_CLICKHOUSE_URL ?? `http://127.0.0.1:${chPort}/voxcalls_test`
	};
}

export function testEnv(): Record<string, string> {
	return {
		...testStoreUrls(),
		NODE_ENV: 'test',
		APP_SECRET: TEST_APP_SECRET,
		ORIGIN: process.env.ORIGIN ?? 'http://localhost:3000',
		LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn'
	};
}
