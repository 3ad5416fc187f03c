import { error } from '@sveltejs/kit';
import { optionalFormField, serverCaller, throwLoadFailure } from '$lib/server/trpc/caller';
import { expectedFailureMessage, providerActionFailure } from '$lib/server/trpc/action-failure';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const caller = serverCaller(event);
	const ref = { connectionId: event.params.connectionId, agentId: event.params.agentId };
	try {
		return { agent: await caller.agents.get(ref), loadError: null };
	} catch (err) {
		// Upstream down or the agent gone there: the page says so instead of failing.
		const message = expectedFailureMessage(err);
		if (message === null) throwLoadFailure(err, event.url);
		if (message === 'Agent not found') error(404, message);
		return { agent: null, loadError: message };
	}
};

type Row = { id: string; type?: string; name?: string; description?: string; prompt?: string };

/** Rows of a repeated fieldset (`dc.0.id`, `dc.0.type` …); blank rows are dropped. */
function rows(form: FormData, prefix: string): Row[] {
	const out: Record<string, Row> = {};
	for (const [k, v] of form.entries()) {
		const m = new RegExp(`^${prefix}\\.(\\d+)\\.(\\w+)$`).exec(k);
		if (m) (out[m[1]] ??= { id: '' })[m[2] as keyof Row] = String(v).trim();
	}
	return Object.values(out).filter((r) => r.id !== '');
}

export const actions: Actions = {
	save: async (event) => {
		const form = await event.request.formData();
		const f = (n: string) => optionalFormField(form, n) ?? '';
		try {
			await serverCaller(event).agents.update({
				connectionId: event.params.connectionId,
				agentId: event.params.agentId,
				fields: {
					name: f('name'),
					firstMessage: f('firstMessage'),
					systemPrompt: f('systemPrompt'),
					llm: f('llm'),
					temperature: Number(f('temperature') || 0),
					language: f('language'),
					voiceId: f('voiceId'),
					ttsModel: f('ttsModel'),
					dataCollection: rows(form, 'dc').map((r) => ({ id: r.id, type: (r.type ?? 'string') as 'string', description: r.description ?? '' })),
					evaluationCriteria: rows(form, 'ev').map((r) => ({ id: r.id, name: r.name || r.id, prompt: r.prompt ?? '' }))
				}
			});
			return { message: 'Saved in ElevenLabs' };
		} catch (err) {
			return providerActionFailure(err);
		}
	}
};
