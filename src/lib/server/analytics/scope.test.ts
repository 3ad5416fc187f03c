import { describe, expect, it } from 'vitest';
import { projectFact, retractFact } from '../ingest/facts';
import { rangeWhere, tenantWhere } from './scope';
import { CallEventRow, isRelayTarget } from './tables';

describe('analytics scope fragments', () => {
	it('binds the tenant id as a literal, never as raw text', () => {
		expect(tenantWhere('2f0c5d1e-8a7b-4c3d-9e2f-1a2b3c4d5e6f').text).toBe("tenant_id = toUUID('2f0c5d1e-8a7b-4c3d-9e2f-1a2b3c4d5e6f')");
		expect(tenantWhere("x') OR 1=1 --").text).toBe("tenant_id = toUUID('x\\') OR 1=1 --')");
	});

	it.each([
		['both bounds', new Date(1_700_000_000_000), new Date(1_700_086_400_000), 'bucket >= toDateTime(1700000000) AND bucket < toDateTime(1700086400)'],
		['only a start', new Date(1_700_000_000_000), undefined, 'bucket >= toDateTime(1700000000)'],
		['only an end', undefined, new Date(1_700_086_400_000), 'bucket < toDateTime(1700086400)'],
		['no bounds', undefined, undefined, '1']
	])('renders a half-open range with %s', (_what, start, end, text) => {
		expect(rangeWhere('bucket', start, end).text).toBe(text);
	});

	it('refuses a column that is not a plain identifier', () => {
		expect(() => rangeWhere('bucket; DROP TABLE x', new Date(0))).toThrow(/identifier/);
	});
});

describe('analytics tables', () => {
	it('the relay writes rows that match the call_events row schema, facts and retractions alike', () => {
		const fact = projectFact(
			{
				conversationId: 'conv_1',
				connectionId: '2f0c5d1e-8a7b-4c3d-9e2f-1a2b3c4d5e6f',
				agentId: 'agent_1',
				tenantId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
				version: 3,
				status: 'done',
				startedAt: new Date('2025-03-10T02:30:00Z'),
				durationSecs: 61.6,
				callSuccessful: 'success',
				direction: null,
				callResult: null,
				cost: 12.5,
				hasAudio: true,
				batchCallId: null,
				agentNumber: null
			},
			new Date('2025-03-10T02:35:00Z')
		);
		expect(CallEventRow.parse(fact)).toEqual(fact);
		expect(CallEventRow.parse(retractFact(fact, new Date('2025-03-10T02:40:00Z')))).toMatchObject({ sign: -1, duration_secs: 62 });
		expect(() => CallEventRow.parse({ ...fact, started_at: '2025-03-10T02:30:00Z' })).toThrow();
	});

	it('names the relay targets it knows, and nothing else', () => {
		expect(isRelayTarget('call_events')).toBe(true);
		expect(isRelayTarget('calls_15m')).toBe(false);
		expect(isRelayTarget('constructor')).toBe(false);
	});
});
