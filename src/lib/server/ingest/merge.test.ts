import { describe, expect, it } from 'vitest';
import { factEventId, retractionEventId } from './facts';
import { applySnapshot, blankConversationRow, canonicalJson, finishChange, rowsDiffer, type ConversationRow } from './merge';
import type { ConversationSnapshot } from './snapshot';

const T0 = new Date('2026-05-01T10:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const snap = (status: string | null, observedSecs: number, extra: Partial<ConversationSnapshot> = {}): ConversationSnapshot => ({
	connectionId: 'c0000000-0000-0000-0000-000000000000',
	conversationId: 'conv_1',
	agentId: 'agent_1',
	source: 'webhook',
	observedAt: at(observedSecs),
	status,
	startedAt: T0,
	durationSecs: 10 * observedSecs,
	...extra
});
const fold = (snaps: ConversationSnapshot[]) => snaps.reduce<ConversationRow>((row, s) => applySnapshot(row, s), blankConversationRow(snaps[0], T0));

describe('applySnapshot', () => {
	it('moves status only forward; equal ranks apply only when at least as recent', () => {
		const table: Array<[string, ConversationSnapshot[], { status: string | null; durationSecs: number }]> = [
			['in order', [snap('in-progress', 1), snap('processing', 2), snap('done', 3)], { status: 'done', durationSecs: 30 }],
			['late processing after done', [snap('done', 3), snap('processing', 9)], { status: 'done', durationSecs: 30 }],
			['failed is final too', [snap('failed', 3), snap('in-progress', 9)], { status: 'failed', durationSecs: 30 }],
			['newer done wins', [snap('done', 3), snap('done', 5)], { status: 'done', durationSecs: 50 }],
			['older done loses', [snap('done', 5), snap('done', 3)], { status: 'done', durationSecs: 50 }],
			['unknown status never beats a known one', [snap('done', 1), snap('archived', 9)], { status: 'done', durationSecs: 10 }],
			['audio keeps the status', [snap('done', 1), snap(null, 9, { audioKey: 'k', startedAt: undefined, durationSecs: undefined })], { status: 'done', durationSecs: 10 }]
		];
		for (const [name, snaps, want] of table) expect(fold(snaps), name).toMatchObject(want);
	});

	it('keeps stored values a snapshot does not know', () => {
		const row = fold([snap('done', 1, { title: 'Booking', cost: '5.000000' }), snap('done', 2, { title: undefined, cost: undefined })]);
		expect(row).toMatchObject({ title: 'Booking', cost: '5.000000', durationSecs: 20 });
	});

	it('is idempotent: the same snapshot twice changes nothing the second time', () => {
		const once = fold([snap('done', 1, { details: { b: [1, { y: 2, x: 1 }], a: null } })]);
		const twice = applySnapshot(once, snap('done', 1, { details: { a: null, b: [1, { x: 1, y: 2 }] } }));
		expect(rowsDiffer(once, twice)).toBe(false);
	});
});

describe('finishChange', () => {
	it('bumps the version and emits retraction of the live fact plus the new fact', () => {
		const base = { ...fold([snap('processing', 1)]), tenantId: 't0000000-0000-0000-0000-000000000000' };
		const v1 = finishChange(base, T0);
		expect(v1.row.version).toBe(1);
		expect(v1.events.map((e) => [e.event_id, e.sign])).toEqual([[factEventId('conv_1', 1), 1]]);
		const v2 = finishChange(applySnapshot(v1.row, snap('done', 2)), T0);
		expect(v2.events.map((e) => [e.event_id, e.sign, e.status, e.duration_secs])).toEqual([
			[retractionEventId('conv_1', 1), -1, 'processing', 10],
			[factEventId('conv_1', 2), 1, 'done', 20]
		]);
		expect(v2.row.emittedVersion).toBe(2);
	});

	it('emits nothing while the tenant (quarantine), the start time or the status is unknown', () => {
		expect(finishChange(fold([snap('done', 1)]), T0).events).toEqual([]);
		const stub = applySnapshot(blankConversationRow(snap(null, 1), T0), snap(null, 1, { audioKey: 'k' }));
		expect(finishChange({ ...stub, tenantId: 't' }, T0).events).toEqual([]);
	});
});

it('canonicalJson sorts keys at every depth', () => {
	expect(canonicalJson({ b: 1, a: { d: [3, { f: 1, e: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"e":2,"f":1}]},"b":1}');
});

it('jsonbText drops U+0000 (jsonb cannot store it) and nothing else', async () => {
	const { jsonbText } = await import('./upsert');
	const v = { a: 'x\u0000y', b: 'back\\u0000slash', c: ['\\\u0000'] };
	expect(JSON.parse(jsonbText(v))).toEqual({ a: 'xy', b: 'back\\u0000slash', c: ['\\'] });
});
