import { parseArgs } from 'node:util';
import { startElevenLabsEmulator } from './server';
import type { EmulatorAgentInput } from './state';

// Standalone entry: `tsx src/emulators/elevenlabs/main.ts [--port 8790] ...`; every flag has an env twin.
const { values } = parseArgs({
	options: {
		port: { type: 'string' },
		host: { type: 'string' },
		'api-key': { type: 'string' },
		'webhook-url': { type: 'string', multiple: true },
		'webhook-secret': { type: 'string' },
		'interval-ms': { type: 'string' },
		agents: { type: 'string' },
		seed: { type: 'string' }
	}
});

const env = process.env;

/** `agent_a=+14155550123|+14155550124,agent_b=+442071234567`, or a JSON array of EmulatorAgentInput. */
function parseAgents(spec: string | undefined): EmulatorAgentInput[] | undefined {
	if (!spec) return undefined;
	if (spec.trim().startsWith('[')) return JSON.parse(spec) as EmulatorAgentInput[];
	return spec
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean)
		.map((entry) => {
			const [agentId, numbers] = entry.split('=');
			return { agentId, name: agentId, phoneNumbers: numbers ? numbers.split('|').filter(Boolean) : undefined };
		});
}

const webhookUrls = values['webhook-url'] ?? (env.ELEVENLABS_EMULATOR_WEBHOOK_URLS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const intervalMs = Number(values['interval-ms'] ?? env.ELEVENLABS_EMULATOR_CALL_INTERVAL_MS ?? 5000);

const emulator = await startElevenLabsEmulator({
	port: Number(values.port ?? env.ELEVENLABS_EMULATOR_PORT ?? 8790),
	host: values.host ?? env.ELEVENLABS_EMULATOR_HOST ?? '127.0.0.1',
	apiKey: values['api-key'] ?? env.ELEVENLABS_EMULATOR_API_KEY ?? env.ELEVENLABS_API_KEY ?? 'test-api-key',
	webhookUrls,
	webhookSecret: values['webhook-secret'] ?? env.ELEVENLABS_EMULATOR_WEBHOOK_SECRET ?? env.ELEVENLABS_WEBHOOK_SECRET ?? 'whsec_emulator',
	seed: Number(values.seed ?? env.ELEVENLABS_EMULATOR_SEED ?? 1),
	agents: parseAgents(values.agents ?? env.ELEVENLABS_EMULATOR_AGENTS),
	autoGenerate: intervalMs > 0 ? { intervalMs } : null,
	log: (line) => console.log(line)
});

console.log(`elevenlabs emulator listening on ${emulator.url}`);
for (const a of emulator.state.agents.values()) {
	const numbers = emulator.state.agentNumbers(a.agent_id).map((p) => `${p.phone_number} (${p.phone_number_id})`);
	console.log(`  agent ${a.agent_id} "${a.name}": ${numbers.join(', ')}`);
}
console.log(`  webhooks → ${webhookUrls.length ? webhookUrls.join(', ') : '(none)'}; new call every ${intervalMs > 0 ? `${intervalMs} ms` : 'never'}`);

const shutdown = async () => {
	await emulator.close();
	process.exit(0);
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
