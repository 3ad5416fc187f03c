import { env } from '$lib/server/env';
import { optionalFormField, serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import { providerActionFailure } from '$lib/server/trpc/action-failure';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const caller = serverCaller(event);
	try {
		const [connections, accounts] = await Promise.all([caller.ingestion.connections.list(), caller.numbers.twilioAccounts.list()]);
		return { origin: env().ORIGIN, connections, accounts, defaultTwilioBaseUrl: env().TWILIO_BASE_URL };
	} catch (err) {
		throwLoadFailure(err, event.url);
	}
};

const field = (form: FormData, name: string) => optionalFormField(form, name) ?? '';

export const actions: Actions = {
	test: async (event) => {
		const form = await event.request.formData();
		try {
			const r = await serverCaller(event).ingestion.connections.test({ connectionId: field(form, 'connectionId') });
			return { message: r.message, ok: r.ok, connectionId: field(form, 'connectionId') };
		} catch (err) {
			return providerActionFailure(err);
		}
	},
	// Rotating replaces the stored value; every web process drops its cached secret at once (NOTIFY on commit).
	rotate: async (event) => {
		const form = await event.request.formData();
		try {
			const c = await serverCaller(event).ingestion.connections.update({
				connectionId: field(form, 'connectionId'),
				apiKey: optionalFormField(form, 'apiKey'),
				webhookSecret: optionalFormField(form, 'webhookSecret')
			});
			return { message: `Saved ${c.name}: API key …${c.apiKeyHint.slice(-4)}, webhook secret …${c.webhookSecretHint.slice(-4)}` };
		} catch (err) {
			return providerActionFailure(err);
		}
	},
	saveTwilio: async (event) => {
		const form = await event.request.formData();
		try {
			const a = await serverCaller(event).numbers.twilioAccounts.save({
				twilioAccountId: optionalFormField(form, 'twilioAccountId'),
				name: field(form, 'name'),
				accountSid: field(form, 'accountSid'),
				authToken: optionalFormField(form, 'authToken'),
				baseUrl: optionalFormField(form, 'baseUrl')
			});
			return { message: `Saved Twilio account ${a.name}` };
		} catch (err) {
			return providerActionFailure(err);
		}
	},
	testTwilio: async (event) => {
		const form = await event.request.formData();
		try {
			const r = await serverCaller(event).numbers.twilioAccounts.test({ twilioAccountId: field(form, 'twilioAccountId') });
			return { message: r.message, ok: r.ok };
		} catch (err) {
			return providerActionFailure(err);
		}
	}
};
