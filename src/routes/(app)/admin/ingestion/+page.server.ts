import { env } from '$lib/server/env';
import { actionFailure, serverCaller, throwLoadFailure, optionalFormField } from '$lib/server/trpc/caller';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const caller = serverCaller(event);
	try {
		const [connections, agents, quarantine, tenants] = await Promise.all([
			caller.ingestion.connections.list(),
			caller.ingestion.agents.list({}),
			caller.ingestion.quarantine.list({}),
			caller.tenants.list()
		]);
		// The status is the slow part (counts over the inbox and outbox): streamed, so the page renders at once.
		const status = caller.ingestion.status();
		return {
			origin: env().ORIGIN,
			connections,
			agents,
			quarantine,
			tenants: tenants.map((t) => ({ id: t.id, name: t.name })),
			status
		};
	} catch (err) {
		throwLoadFailure(err, event.url);
	}
};


export const actions: Actions = {
	createConnection: async (event) => {
		const form = await event.request.formData();
		const values = { name: optionalFormField(form, 'name') ?? '', baseUrl: optionalFormField(form, 'baseUrl') ?? '', tenantId: optionalFormField(form, 'tenantId') ?? null };
		try {
			const c = await serverCaller(event).ingestion.connections.create({
				...values,
				apiKey: optionalFormField(form, 'apiKey') ?? '',
				webhookSecret: optionalFormField(form, 'webhookSecret') ?? ''
			});
			return { message: `Created ${c.name}. Point the ElevenLabs post-call webhook at ${env().ORIGIN}${c.webhookPath}` };
		} catch (err) {
			// Secrets are never echoed back into the form.
			return actionFailure(err, { action: 'createConnection', values });
		}
	},
	updateConnection: async (event) => {
		const form = await event.request.formData();
		const enabled = optionalFormField(form, 'enabled');
		try {
			const c = await serverCaller(event).ingestion.connections.update({
				connectionId: optionalFormField(form, 'connectionId') ?? '',
				name: optionalFormField(form, 'name'),
				baseUrl: optionalFormField(form, 'baseUrl'),
				apiKey: optionalFormField(form, 'apiKey'),
				webhookSecret: optionalFormField(form, 'webhookSecret'),
				enabled: enabled === undefined ? undefined : enabled === 'true'
			});
			return { message: `Saved ${c.name}` };
		} catch (err) {
			return actionFailure(err);
		}
	},
	deleteConnection: async (event) => {
		const form = await event.request.formData();
		try {
			await serverCaller(event).ingestion.connections.delete({ connectionId: optionalFormField(form, 'connectionId') ?? '' });
			return { message: 'Connection deleted' };
		} catch (err) {
			return actionFailure(err);
		}
	},
	mapAgent: async (event) => {
		const form = await event.request.formData();
		try {
			const r = await serverCaller(event).ingestion.agents.map({
				connectionId: optionalFormField(form, 'connectionId') ?? '',
				agentId: optionalFormField(form, 'agentId') ?? '',
				tenantId: optionalFormField(form, 'tenantId') ?? null
			});
			const who = r.agent.name ?? r.agent.agentId;
			return {
				message: r.agent.tenantName
					? `${who} → ${r.agent.tenantName}${r.awaitingRelease ? `; ${r.awaitingRelease} quarantined calls are being released` : ''}`
					: `${who} is unmapped; its new calls go to quarantine`
			};
		} catch (err) {
			return actionFailure(err);
		}
	},
	releaseQuarantine: async (event) => {
		const form = await event.request.formData();
		try {
			const r = await serverCaller(event).ingestion.quarantine.release({ connectionId: optionalFormField(form, 'connectionId'), agentId: optionalFormField(form, 'agentId') });
			return { message: r.released ? `Released ${r.released} calls` : 'Nothing to release: map the agent to a tenant first' };
		} catch (err) {
			return actionFailure(err);
		}
	}
};
