import { EmulatorState, type EmulatorAgentInput } from './state';

// The caller numbers the emulator's automatic calls will use, in order: the emulator draws everything from one
// seeded PRNG in a fixed order, so a fresh state with the same seed and agents replays them. `npm start` gives some
// of them to demo recipients, so the calls it emulates match recipients (what attribution looks for).

/** `agent_a=+1…|+1…,agent_b=…` (the ELEVENLABS_EMULATOR_AGENTS format). */
export function parseEmulatorAgents(spec: string): EmulatorAgentInput[] {
	return spec
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean)
		.map((entry) => {
			const [agentId, numbers] = entry.split('=');
			return { agentId, name: agentId, phoneNumbers: numbers ? numbers.split('|').filter(Boolean) : undefined };
		});
}

/** The first `count` automatic calls' external numbers and the agent each one reaches. */
export function emulatedCallers(opts: { seed: number; agents: string; count: number }): { externalNumber: string; agentId: string }[] {
	const state = new EmulatorState({ seed: opts.seed, agents: parseEmulatorAgents(opts.agents) });
	try {
		return Array.from({ length: opts.count }, () => {
			const [c] = state.generateCalls(1, { sendWebhooks: false, finalImmediately: true });
			return { externalNumber: c.external_number, agentId: c.agent_id };
		});
	} finally {
		state.dispose();
	}
}
