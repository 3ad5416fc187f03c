import type { Prng } from './prng';

// Canned call scenarios. Realistic enough for dashboards and attribution tests; not meant to be varied prose.
export interface Scenario {
	key: string;
	title: string;
	summary: (vars: { name: string; successful: boolean }) => string;
	turns: Array<['agent' | 'user', string]>;
	successRate: number;
}

export const SCENARIOS: readonly Scenario[] = [
	{
		key: 'booking',
		title: 'Appointment booking',
		summary: ({ name, successful }) =>
			successful
				? `${name} called to book an appointment. The agent found a slot on Thursday at 10am and confirmed it.`
				: `${name} asked about booking an appointment but did not commit to a time.`,
		turns: [
			['agent', 'Hello, thanks for calling. How can I help you today?'],
			['user', "Hi, I'd like to book an appointment for next week."],
			['agent', 'Of course. Can I take your name please?'],
			['user', 'It is {name}.'],
			['agent', 'Thanks {name}. I have Thursday at 10am or Friday at 2pm. Which works better?'],
			['user', 'Thursday at 10 works.'],
			['agent', "Great, you're booked for Thursday at 10am. Anything else?"],
			['user', "No, that's all. Thanks!"]
		],
		successRate: 0.7
	},
	{
		key: 'pricing',
		title: 'Pricing enquiry',
		summary: ({ name, successful }) =>
			successful
				? `${name} asked about pricing for the premium plan and requested a quote by email.`
				: `${name} asked about pricing and found it too expensive.`,
		turns: [
			['agent', 'Hi there, you are through to sales. How can I help?'],
			['user', 'How much is the premium plan?'],
			['agent', 'The premium plan is 49 dollars a month, billed annually. Shall I send you a quote?'],
			['user', 'Yes please, my name is {name}.'],
			['agent', "Thanks {name}, I'll email that over now."]
		],
		successRate: 0.5
	},
	{
		key: 'support',
		title: 'Order status support',
		summary: ({ name, successful }) =>
			successful
				? `${name} asked where their order was; the agent confirmed it ships tomorrow.`
				: `${name} called about a late order; the issue was escalated to a human.`,
		turns: [
			['agent', 'Hello, customer support here. What can I do for you?'],
			['user', "My order hasn't arrived yet."],
			['agent', 'Sorry to hear that. Could I have your name?'],
			['user', '{name}.'],
			['agent', 'Thanks {name}. Let me check that order for you.'],
			['agent', 'It is scheduled to ship tomorrow morning.'],
			['user', 'Okay, thank you.']
		],
		successRate: 0.6
	},
	{
		key: 'lead',
		title: 'Outbound lead qualification',
		summary: ({ name, successful }) =>
			successful
				? `The agent reached ${name}, who is interested and agreed to a demo.`
				: `The agent reached ${name}, who was not interested at this time.`,
		turns: [
			['agent', 'Hi, this is Ava calling from VoxCalls. Is this {name}?'],
			['user', 'Yes, speaking.'],
			['agent', 'You recently downloaded our guide. Would a short demo be useful?'],
			['user', 'Maybe, what does it involve?'],
			['agent', 'Twenty minutes with a specialist, at a time that suits you.'],
			['user', 'Alright, send me a link.']
		],
		successRate: 0.4
	}
];

const FIRST_NAMES = ['Alice', 'Ben', 'Chloe', 'Dev', 'Emma', 'Felix', 'Grace', 'Hiro', 'Isla', 'Jamal', 'Kate', 'Liam', 'Maya', 'Noah', 'Olivia', 'Priya'];

export function pickName(prng: Prng): string {
	return prng.pick(FIRST_NAMES);
}

// Real geographic area codes so numbers pass libphonenumber validation in downstream code.
const US_AREA_CODES = ['212', '213', '305', '312', '404', '415', '503', '512', '617', '646', '702', '718', '206', '303', '602', '713'];
const GB_MOBILE_PREFIXES = ['7400', '7700', '7712', '7723', '7801', '7824', '7903', '7956'];

export function usNumber(prng: Prng, areaCode?: string): string {
	// NANP: exchange must not start with 0/1 and we avoid 555 because it is reserved for fiction.
	let exchange: string;
	do exchange = `${prng.int(2, 9)}${prng.digits(2)}`;
	while (exchange === '555' || exchange.endsWith('11'));
	return `+1${areaCode ?? prng.pick(US_AREA_CODES)}${exchange}${prng.digits(4)}`;
}

export function gbNumber(prng: Prng): string {
	if (prng.chance(0.7)) return `+44${prng.pick(GB_MOBILE_PREFIXES)}${prng.digits(6)}`;
	// London landline: 020 then 8 digits starting 3/7/8.
	return `+4420${prng.pick(['3', '7', '8'])}${prng.digits(7)}`;
}

export function callerNumber(prng: Prng, gbShare = 0.3): string {
	return prng.chance(gbShare) ? gbNumber(prng) : usNumber(prng);
}

/**
 * Deterministic bytes that look like an MP3 (valid MPEG-1 Layer III frame headers, 128 kbps, 44.1 kHz) so that
 * anything sniffing the content type is satisfied without shipping real audio.
 */
const FRAME_HEADER = Buffer.from([0xff, 0xfb, 0x90, 0x64]);
const FRAME_BYTES = 417;

export function fakeMp3(seed: number, durationSecs: number, maxBytes: number): Buffer {
	const frames = Math.max(2, Math.min(Math.floor(maxBytes / FRAME_BYTES), Math.round(durationSecs * 2)));
	const buf = Buffer.alloc(frames * FRAME_BYTES);
	let x = seed >>> 0 || 1;
	FRAME_HEADER.copy(buf, 0);
	for (let i = 4; i < FRAME_BYTES; i++) {
		// xorshift32 is enough to make payloads differ per conversation.
		x ^= x << 13;
		x ^= x >>> 17;
		x ^= x << 5;
		buf[i] = x & 0xff;
	}
	// Repeating the first frame keeps this cheap when thousands of calls are generated per second.
	for (let f = 1; f < frames; f++) buf.copy(buf, f * FRAME_BYTES, 0, FRAME_BYTES);
	return buf;
}
