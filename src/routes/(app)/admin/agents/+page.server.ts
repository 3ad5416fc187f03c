import { optionalFormField, serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import { providerActionFailure } from '$lib/server/trpc/action-failure';
import type { Actions, PageServerLoad } from './$types';

const PAGE_SIZE = 20;

export const load: PageServerLoad = async (event) => {
	const caller = serverCaller(event);
	const search = event.url.searchParams.get('q')?.trim() || undefined;
	const page = Math.max(1, Number(event.url.searchParams.get('page')) || 1);
	try {
		const [agents, connections, tenants, settings] = await Promise.all([
			caller.agents.list({ search, page, pageSize: PAGE_SIZE }),
			caller.ingestion.connections.list(),
			caller.tenants.list(),
			caller.agents.settings()
		]);
		return {
			agents,
			search: search ?? '',
			connections: connections.filter((c) => c.enabled).map((c) => ({ id: c.id, name: c.name })),
			tenants: tenants.map((t) => ({ id: t.id, name: t.name })),
			settings
		};
	} catch (err) {
		throwLoadFailure(err, event.url);
	}
};

const field = (form: FormData, name: string) => optionalFormField(form, name) ?? '';

export const actions: Actions = {
	import: async (event) => {
		const form = await event.request.formData();
		try {
			const r = await serverCaller(event).agents.import({ connectionId: field(form, 'connectionId') });
			return { message: r.added ? `Imported ${r.added} new agents (${r.listed} in the workspace); assign them to tenants below` : `All ${r.listed} agents of the workspace are already here` };
		} catch (err) {
			return providerActionFailure(err);
		}
	},
	assign: async (event) => {
		const form = await event.request.formData();
		try {
			const r = await serverCaller(event).agents.assign({ connectionId: field(form, 'connectionId'), agentId: field(form, 'agentId'), tenantId: optionalFormField(form, 'tenantId') ?? null });
			return { message: r.tenantName ? `Assigned to ${r.tenantName}${r.awaitingRelease ? `; ${r.awaitingRelease} quarantined calls follow` : ''}` : 'Unassigned' };
		} catch (err) {
			return providerActionFailure(err);
		}
	},
	create: async (event) => {
		const form = await event.request.formData();
		const name = field(form, 'name');
		try {
			const a = await serverCaller(event).agents.create({
				connectionId: field(form, 'connectionId'),
				tenantId: optionalFormField(form, 'tenantId') ?? null,
				fields: {
					name,
					firstMessage: field(form, 'firstMessage'),
					systemPrompt: field(form, 'systemPrompt'),
					llm: field(form, 'llm') || 'gemini-2.0-flash',
					temperature: Number(field(form, 'temperature') || 0),
					language: field(form, 'language') || 'en',
					voiceId: field(form, 'voiceId') || 'cjVigY5qzO86Huf0OWal',
					ttsModel: field(form, 'ttsModel') || 'eleven_flash_v2',
					dataCollection: [],
					evaluationCriteria: []
				}
			});
			return { message: `Created ${a.name} (${a.agentId})`, created: { connectionId: a.connectionId, agentId: a.agentId } };
		} catch (err) {
			return providerActionFailure(err, { action: 'create', values: { name } });
		}
	},
	duplicate: async (event) => {
		const form = await event.request.formData();
		try {
			const a = await serverCaller(event).agents.duplicate({ connectionId: field(form, 'connectionId'), agentId: field(form, 'agentId') });
			return { message: `Duplicated as ${a.name}` };
		} catch (err) {
			return providerActionFailure(err);
		}
	},
	delete: async (event) => {
		const form = await event.request.formData();
		try {
			await serverCaller(event).agents.delete({ connectionId: field(form, 'connectionId'), agentId: field(form, 'agentId') });
			return { message: 'Agent deleted' };
		} catch (err) {
			return providerActionFailure(err);
		}
	},
	settings: async (event) => {
		const form = await event.request.formData();
		try {
			const s = await serverCaller(event).agents.updateSettings({ tenantAdminsManageAgents: form.get('tenantAdminsManageAgents') === 'on' });
			return { message: s.tenantAdminsManageAgents ? 'Tenant admins may now edit their own agents' : 'Only platform admins edit agents now' };
		} catch (err) {
			return providerActionFailure(err);
		}
	}
};
