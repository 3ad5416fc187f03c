import { parseArgs } from 'node:util';
import { startTwilioEmulator } from './server';

// Standalone entry: `tsx src/emulators/twilio/main.ts [--port 8791]`; every flag has an env twin.
const { values } = parseArgs({
	options: {
		port: { type: 'string' },
		host: { type: 'string' },
		'account-sid': { type: 'string' },
		'auth-token': { type: 'string' }
	}
});
const env = process.env;

const emulator = await startTwilioEmulator({
	port: Number(values.port ?? env.TWILIO_EMULATOR_PORT ?? 8791),
	host: values.host ?? env.TWILIO_EMULATOR_HOST ?? '127.0.0.1',
	accountSid: values['account-sid'] ?? env.TWILIO_EMULATOR_ACCOUNT_SID ?? env.TWILIO_ACCOUNT_SID,
	authToken: values['auth-token'] ?? env.TWILIO_EMULATOR_AUTH_TOKEN ?? env.TWILIO_AUTH_TOKEN
});
console.log(`twilio emulator listening on ${emulator.url} (account ${emulator.accountSid})`);

const shutdown = async () => {
	await emulator.close();
	process.exit(0);
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
