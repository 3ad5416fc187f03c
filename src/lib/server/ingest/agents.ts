import { sql } from 'drizzle-orm';
import { elevenlabsAgent } from '../db/schema/index';
import type { IngestCtx } from './context';

/** Records agents listed upstream (the backfill calls this): new ones unmapped, names refreshed. */
export async function recordUpstreamAgents({
	ctx,
	input
}: {
	ctx: IngestCtx;
	input: { connectionId: string; agents: { agentId: string; name: string | null }[] };
}): Promise<{ added: number }> {
	if (input.agents.length === 0) return { added: 0 };
	const rows = await ctx.db
		.insert(elevenlabsAgent)
		.values(input.agents.map((a) => ({ connectionId: input.connectionId, agentId: a.agentId, name: a.name })))
		.onConflictDoUpdate({
			target: [elevenlabsAgent.connectionId, elevenlabsAgent.agentId],
			set: { name: sql`coalesce(excluded.name, ${elevenlabsAgent.name})`, updatedAt: sql`now()` }
		})
		.returning({ inserted: sql<boolean>`xmax = 0` });
	return { added: rows.filter((r) => r.inserted).length };
}
