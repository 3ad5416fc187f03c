import { optionalFormField, serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import { expectedFailureMessage, providerActionFailure } from '$lib/server/trpc/action-failure';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const caller = serverCaller(event);
	const q = event.url.searchParams;
	try {
		const [numbers, accounts, connections, tenants, agents, drift] = await Promise.all([
			caller.numbers.list({}),
			caller.numbers.twilioAccounts.list(),
			caller.ingestion.connections.list(),
			caller.tenants.list(),
			caller.agents.list({ pageSize: 100 }),
			caller.numbers.drift()
		]);
		// A search runs when the form was submitted (GET, so the URL can be shared and reloaded).
		const search = {
			twilioAccountId: q.get('account') ?? accounts[0]?.id ?? '',
			country: (q.get('country') ?? 'US').toUpperCase(),
			areaCode: q.get('areaCode') ?? '',
			contains: q.get('contains') ?? ''
		};
		let available: Awaited<ReturnType<typeof caller.numbers.search>> | null = null;
		let searchError: string | null = null;
		if (q.has('country') && search.twilioAccountId) {
			try {
				available = await caller.numbers.search({
					twilioAccountId: search.twilioAccountId,
					country: search.country,
					areaCode: search.areaCode ? Number(search.areaCode) : undefined,
					contains: search.contains || undefined,
					limit: 20
				});
			} catch (err) {
				searchError = expectedFailureMessage(err);
				if (searchError === null) throw err;
			}
		}
		return {
			numbers,
			accounts: accounts.map((a) => ({ id: a.id, name: a.name })),
			connections: connections.filter((c) => c.enabled).map((c) => ({ id: c.id, name: c.name })),
			tenants: tenants.map((t) => ({ id: t.id, name: t.name })),
			agents: agents.rows.filter((a) => a.tenantId).map((a) => ({ connectionId: a.connectionId, agentId: a.agentId, name: a.name ?? a.agentId, tenantId: a.tenantId!, tenantName: a.tenantName })),
			drift,
			search,
			available,
			searchError
		};
	} catch (err) {
		throwLoadFailure(err, event.url);
	}
};

const field = (form: FormData, name: string) => optionalFormField(form, name) ?? '';

function outcome(verb: string, r: { number: { e164: string; status: string }; advance: { error: string | null } }) {
	return r.advance.error
		? { message: `${r.number.e164}: ${verb} started; the provider failed (${r.advance.error}). It is retried automatically.`, pending: true }
		: { message: `${r.number.e164}: ${verb} done (${r.number.status})` };
}

export const actions: Actions = {
	buy: async (event) => {
		const form = await event.request.formData();
		try {
			const r = await serverCaller(event).numbers.buy({
				twilioAccountId: field(form, 'twilioAccountId'),
				connectionId: field(form, 'connectionId'),
				e164: field(form, 'e164'),
				friendlyName: optionalFormField(form, 'friendlyName')
			});
			return outcome('purchase', r);
		} catch (err) {
			return providerActionFailure(err);
		}
	},
	assign: async (event) => {
		const form = await event.request.formData();
		// The agent select carries "tenantId|agentId" so one control picks both.
		const [tenantFromAgent, agentId] = (optionalFormField(form, 'agent') ?? '|').split('|');
		const tenantId = optionalFormField(form, 'tenantId') ?? (tenantFromAgent || null);
		try {
			const r = await serverCaller(event).numbers.assign({
				numberId: field(form, 'numberId'),
				tenantId,
				agentId: agentId || null,
				campaignTracking: form.get('campaignTracking') === 'on'
			});
			return outcome('assignment', r);
		} catch (err) {
			return providerActionFailure(err);
		}
	},
	release: async (event) => {
		const form = await event.request.formData();
		try {
			const r = await serverCaller(event).numbers.release({ numberId: field(form, 'numberId'), confirmE164: field(form, 'confirmE164') });
			return outcome('release', r);
		} catch (err) {
			return providerActionFailure(err);
		}
	},
	retry: async (event) => {
		const form = await event.request.formData();
		try {
			return outcome('retry', await serverCaller(event).numbers.retry({ numberId: field(form, 'numberId') }));
		} catch (err) {
			return providerActionFailure(err);
		}
	},
	reconcile: async (event) => {
		try {
			const r = await serverCaller(event).numbers.reconcile();
			return { message: r.error ? r.error : r.drift.length ? `${r.drift.length} differences found` : `No drift across ${r.checked} numbers` };
		} catch (err) {
			return providerActionFailure(err);
		}
	}
};
