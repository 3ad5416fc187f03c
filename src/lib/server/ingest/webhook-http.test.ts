import { expect, it } from 'vitest';
import { webhookConnectionFromPath } from './webhook-http';

it('routes only the ElevenLabs webhook path to the node:http intake', () => {
	const id = '6d1a1c4e-8b0f-4b7e-9a57-1c2b3d4e5f60';
	expect(webhookConnectionFromPath(`/api/webhooks/elevenlabs/${id}`)).toBe(id);
	expect(webhookConnectionFromPath(`/api/webhooks/elevenlabs/${id}/`)).toBe(id);
	expect(webhookConnectionFromPath(`/api/webhooks/elevenlabs/${id}?retry=1`)).toBe(id);
	expect(webhookConnectionFromPath('/api/webhooks/elevenlabs/a%20b')).toBe('a b');
	for (const other of ['/api/webhooks/elevenlabs/', '/api/webhooks/elevenlabs', `/api/webhooks/elevenlabs/${id}/extra`, '/api/trpc/x', '/', undefined, '/api/webhooks/elevenlabs/%E0%A4%A']) {
		expect(webhookConnectionFromPath(other), String(other)).toBeNull();
	}
});
