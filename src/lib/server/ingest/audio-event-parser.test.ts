import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AudioEventStreamParser, MalformedJsonError } from './audio-event-parser';

function rng(seed: number) {
	return () => {
		seed = (seed + 0x6d2b79f5) | 0;
		let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** Feeds `body` in random-sized chunks; returns the envelope and the decoded audio. */
function parseInChunks(body: Buffer, r: () => number) {
	const p = new AudioEventStreamParser();
	const audio: Buffer[] = [];
	for (let i = 0; i < body.length; ) {
		const size = 1 + Math.floor(r() * (r() < 0.3 ? 8 : 40_000));
		audio.push(...p.write(body.subarray(i, i + size)));
		i += size;
	}
	audio.push(...p.end());
	return { envelope: p.envelope, audio: Buffer.concat(audio) };
}

/** The reference: a webhook body must be a JSON object. */
function parseObject(text: string): object {
	const v: unknown = JSON.parse(text);
	if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
	return v;
}

describe('AudioEventStreamParser', () => {
	it('extracts the envelope and decodes full_audio exactly, whatever the chunking', () => {
		const r = rng(7);
		for (let round = 0; round < 30; round++) {
			const mp3 = randomBytes(Math.floor(r() * 200_000));
			const doc = {
				type: 'post_call_audio',
				event_timestamp: 1739537297 + round,
				data: {
					agent_id: `agent_${round}`,
					extra: [1, { nested: ['x', null, true, false, -1.5e3] }, 'a"b\\c\u00e9\ud83d\ude00'],
					conversation_id: `conv_\u00e9${round}`,
					full_audio: mp3.toString('base64')
				},
				trailing: { k: 'v' }
			};
			let text = JSON.stringify(doc, null, round % 2 ? 2 : undefined);
			// Encoders may escape "/" in strings; the decoder must read it back.
			if (round % 3 === 0) text = text.replaceAll('/', '\\/');
			const { envelope, audio } = parseInChunks(Buffer.from(text), r);
			expect(envelope).toMatchObject({
				type: 'post_call_audio',
				eventTimestamp: doc.event_timestamp,
				agentId: doc.data.agent_id,
				conversationId: doc.data.conversation_id,
				sawAudio: true,
				audioBytes: mp3.length
			});
			expect(audio.equals(mp3)).toBe(true);
		}
	});

	it('ignores same-named keys outside the envelope positions', () => {
		const text = JSON.stringify({ data: { x: { full_audio: 'AAAA', conversation_id: 'no' }, conversation_id: 'yes' }, type: 'post_call_audio' });
		const { envelope, audio } = parseInChunks(Buffer.from(text), rng(1));
		expect(envelope.conversationId).toBe('yes');
		expect(envelope.sawAudio).toBe(false);
		expect(audio.length).toBe(0);
	});

	it('rejects what JSON.parse rejects', () => {
		const bad = ['', '{', '{"a":}', '{"a" 1}', '[1]', '{"a":1,}', '{"a":tru}', '{"a":01}', '{"a":"x\\q"}', '{"a":1}x', '{"a":[1,]}', '"str"', '{"a":"\\u12G4"}'];
		for (const b of bad) {
			expect(() => parseObject(b), b).toThrow();
			const p = new AudioEventStreamParser();
			expect(() => {
				p.write(Buffer.from(b));
				p.end();
			}, b).toThrow(MalformedJsonError);
		}
	});
});
