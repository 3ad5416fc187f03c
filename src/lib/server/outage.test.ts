import { describe, expect, it } from 'vitest';
import { isPostgresUnavailable, OutageReporter, SUMMARY_EVERY_MS } from './outage';

const withCode = (code: string, message = 'the server went away') => Object.assign(new Error(message), { code });

describe('isPostgresUnavailable', () => {
	it.each([
		['ECONNREFUSED', true],
		['ECONNRESET', true],
		['CONNECTION_CLOSED', true],
		['CONNECTION_ENDED', true],
		['CONNECTION_DESTROYED', true],
		['57P01', true], // admin_shutdown: pg_terminate_backend, fast shutdown
		['57P02', true], // crash_shutdown
		['57P03', true], // cannot_connect_now: starting up / recovering
		['08006', true], // connection_failure
		['08P01', true], // protocol_violation
		['23505', false], // unique_violation: a defect or a duplicate, never an outage
		['42P01', false], // undefined_table
		['57014', false], // query_canceled
		['ENOENT', false]
	])('%s → %s', (code, expected) => {
		expect(isPostgresUnavailable(withCode(code))).toBe(expected);
	});

	it('looks through causes (drizzle wraps driver errors) and AggregateError (connect to several addresses)', () => {
		expect(isPostgresUnavailable(new Error('Failed query: insert …', { cause: withCode('57P01') }))).toBe(true);
		expect(isPostgresUnavailable(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')]))).toBe(true);
		expect(isPostgresUnavailable(new Error('Failed query', { cause: withCode('23505') }))).toBe(false);
		// pg-boss re-emits worker errors as plain objects with the error's fields spread in.
		expect(isPostgresUnavailable({ ...withCode('ECONNREFUSED'), message: 'connect ECONNREFUSED', queue: 'q' })).toBe(true);
		// node-postgres (pg-boss) says it in words only.
		expect(isPostgresUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
		expect(isPostgresUnavailable(new Error('Connection terminated due to connection timeout'))).toBe(false);
		expect(isPostgresUnavailable(null)).toBe(false);
		expect(isPostgresUnavailable('ECONNREFUSED')).toBe(false);
	});
});

describe('OutageReporter', () => {
	function reporter() {
		let now = 1_000_000;
		const lines: { level: string; msg: string }[] = [];
		const r = new OutageReporter({ now: () => now, write: (level, msg) => void lines.push({ level, msg }) });
		return { r, lines, advance: (ms: number) => (now += ms) };
	}

	it('writes one line when an outage starts, a summary per interval while it lasts, one when it ends', () => {
		const { r, lines, advance } = reporter();
		for (let i = 0; i < 1234; i++) {
			expect(r.reportFailure('webhook intake', withCode('ECONNREFUSED'), 'webhooks answered 503')).toBe(true);
			advance(10);
			r.summarise();
		}
		// 12.34 s of failures: the start line and one summary.
		expect(lines.map((l) => l.msg)).toEqual([
			'webhook intake: postgres unavailable (ECONNREFUSED: the server went away)',
			'webhook intake: postgres unavailable for 10 s: 1,000 webhooks answered 503'
		]);
		r.reportSuccess('webhook intake');
		r.reportSuccess('webhook intake');
		expect(lines.at(-1)).toEqual({ level: 'info', msg: 'webhook intake: postgres available again after 12 s; 1,234 webhooks answered 503 meanwhile' });
		expect(lines).toHaveLength(3);
	});

	it('keeps components apart, and leaves errors that are not outages to the caller', () => {
		const { r, lines, advance } = reporter();
		expect(r.reportFailure('outbox relay', withCode('23505'))).toBe(false);
		expect(lines).toEqual([]);
		r.reportFailure('outbox relay', withCode('57P01'), 'failed rounds');
		r.reportFailure('inbox processor', withCode('CONNECTION_CLOSED'), 'failed rounds');
		r.reportFailure('inbox processor', withCode('CONNECTION_CLOSED'), 'failed rounds');
		expect(r.current()).toEqual({
			'outbox relay': { downForSeconds: 0, count: 1, error: '57P01: the server went away' },
			'inbox processor': { downForSeconds: 0, count: 2, error: 'CONNECTION_CLOSED: the server went away' }
		});
		advance(SUMMARY_EVERY_MS - 1);
		r.summarise();
		expect(lines).toHaveLength(2);
		r.reportSuccess('outbox relay');
		expect(lines.at(-1)?.msg).toBe('outbox relay: postgres available again after 10 s; 1 failed rounds meanwhile');
		expect(Object.keys(r.current())).toEqual(['inbox processor']);
		// A success of a component with no open outage writes nothing.
		r.reportSuccess('webhook intake');
		expect(lines).toHaveLength(3);
	});
});
