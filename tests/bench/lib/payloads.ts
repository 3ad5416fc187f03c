import { EmulatorState } from '../../../src/emulators/elevenlabs/state';

// Realistic post_call_transcription bodies from the ElevenLabs emulator's generator, trimmed to about the target
// size (the emulator's full transcripts run 3-6 KB), each turned into a template so that every delivery carries its
// own conversation id and therefore its own body bytes (no dedup short-cuts) without re-generating JSON per send.

const ID_MARK = '\u0000ID\u0000';
const TS_MARK = 1_234_567_890_123;

export interface PayloadTemplate {
	/** The body split around the conversation id placeholder; joined with a fresh id per delivery. */
	parts: string[];
	bytes: number;
}

export interface PayloadSet {
	agentIds: string[];
	templates: PayloadTemplate[];
	meanBytes: number;
}

/** `count` templates of about `targetBytes` each (a body keeps at least one transcript turn). */
export function buildPayloadTemplates(opts: { seed: number; count: number; targetBytes: number }): PayloadSet {
	const details: Record<string, unknown>[] = [];
	const state = new EmulatorState({
		seed: opts.seed,
		// Calls that end with a transcript; busy/no-answer outbound calls send a different, tiny event.
		onFinal: (rec) => {
			if (rec.status === 'done') details.push(structuredClone(rec.detail));
		}
	});
	while (details.length < opts.count) state.generateCalls(Math.max(10, opts.count - details.length), { finalImmediately: true, direction: 'inbound' });
	state.dispose();

	const templates = details.slice(0, opts.count).map((detail) => {
		const transcript = [...((detail.transcript as unknown[]) ?? [])];
		const render = () => {
			const conversationId = detail.conversation_id as string;
			const text = JSON.stringify({ type: 'post_call_transcription', event_timestamp: TS_MARK, data: { ...detail, transcript } });
			return text.replaceAll(conversationId, ID_MARK);
		};
		let text = render();
		while (Buffer.byteLength(text) > opts.targetBytes && transcript.length > 1) {
			transcript.pop();
			text = render();
		}
		return { parts: text.split(ID_MARK), bytes: Buffer.byteLength(text) };
	});
	const agentIds = [...state.agents.keys()];
	return { agentIds, templates, meanBytes: Math.round(templates.reduce((n, t) => n + t.bytes, 0) / templates.length) };
}

/** One delivery's body: the template with `conversationId` and the current event time filled in. */
export function renderPayload(t: PayloadTemplate, conversationId: string, eventTimestampSecs: number): string {
	return t.parts.join(conversationId).replace(String(TS_MARK), String(eventTimestampSecs));
}

/** Conversation ids shaped like upstream's (`conv_` + 26 characters), unique per run, phase and sequence number. */
export function conversationIdFor(runTag: string, phase: string, seq: number): string {
	const head = `${runTag}${phase}`;
	return `conv_${head}${seq.toString(36).padStart(26 - head.length, '0')}`;
}
