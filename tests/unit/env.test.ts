import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { clickhouseTarget, ConfigError, parseEnv } from '../../src/lib/server/env';

const good = {
	DATABASE_URL: 'postgres://postgres@127.0.0.1:55432/voxcalls',
	CLICKHOUSE_URL: 'http://127.0.0.1:58123/voxcalls',
	APP_SECRET: 'a'.repeat(32),
	ORIGIN: 'http://localhost:3000'
};

describe('configuration', () => {
	it('accepts a complete environment and fills defaults', () => {
		const e = parseEnv(good);
		expect(e.PORT).toBe(3000);
		expect(e.POLL_INTERVAL_MINUTES).toBe(5);
		expect([e.INBOX_BURST_RATE, e.INBOX_BURST_PROCESSING_SHARE, e.INBOX_MAX_LAG_SECONDS]).toEqual([1000, 0.1, 60]);
		expect(clickhouseTarget(e)).toEqual({ url: 'http://127.0.0.1:58123', database: 'voxcalls' });
	});

	it.each([
		['DATABASE_URL', undefined, /DATABASE_URL \(missing\): expected a postgres:\/\/ URL/],
		['DATABASE_URL', 'mysql://x/y', /DATABASE_URL \(malformed\): expected a postgres:\/\/ URL/],
		['CLICKHOUSE_URL', 'http://127.0.0.1:58123', /CLICKHOUSE_URL \(malformed\): .*path names the database/],
		['APP_SECRET', 'short', /APP_SECRET \(malformed\): expected at least 32 characters/],
		['ORIGIN', '', /ORIGIN \(missing\)/],
		['PORT', 'eighty', /PORT \(malformed\)/],
		['INBOX_BURST_PROCESSING_SHARE', '0', /INBOX_BURST_PROCESSING_SHARE \(malformed\)/],
		['INBOX_BURST_PROCESSING_SHARE', '1.5', /INBOX_BURST_PROCESSING_SHARE \(malformed\)/],
		['INBOX_MAX_LAG_SECONDS', '-1', /INBOX_MAX_LAG_SECONDS \(malformed\)/]
	])('stops on a bad %s, naming it and what is expected', (name, value, message) => {
		const raw: Record<string, string | undefined> = { ...good, [name]: value };
		expect(() => parseEnv(raw)).toThrow(ConfigError);
		expect(() => parseEnv(raw)).toThrow(message);
	});

	it('lists every bad variable at once', () => {
		expect(() => parseEnv({})).toThrow(/DATABASE_URL[\s\S]*CLICKHOUSE_URL[\s\S]*APP_SECRET[\s\S]*ORIGIN/);
	});

	it('the web server refuses a bad WEB_PROCESSES by name, before starting anything', () => {
		const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/lib/server/web-server.ts'], {
			env: { ...process.env, WEB_PROCESSES: 'two' },
			encoding: 'utf8',
			timeout: 60_000
		});
		expect(r.status).toBe(1);
		expect(r.stderr).toMatch(/WEB_PROCESSES must be a whole number from 1 to 64, got "two"/);
	});
});
