import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { queryRows } from '../../../src/lib/server/analytics/client';
import { joinSql, sql } from '../../../src/lib/server/analytics/literal';
import { summarise, type LatencySummary } from './stats';

// Webhook-to-ClickHouse visibility: for each sampled delivery, the time from its 200 answer to the first poll of
// call_events that finds it. Polls every `intervalMs`; a delivery counts as visible at the moment that poll was
// issued, so the figure is an upper bound within one poll interval (plus the query's own snapshot delay).

const CHUNK = 1000;

export class VisibilityProbe {
	private readonly pending = new Map<string, number>();
	private readonly visibleMs: number[] = [];
	private running = false;
	private loop: Promise<void> | null = null;
	polls = 0;
	pollErrors = 0;

	constructor(
		private readonly ch: ClickHouseClient,
		private readonly tenantId: string,
		private readonly intervalMs = 100
	) {}

	add(items: Array<[id: string, acceptedAtMs: number]>): void {
		for (const [id, at] of items) this.pending.set(id, at);
	}

	start(): void {
		if (this.running) return;
		this.running = true;
		this.loop = (async () => {
			while (this.running) {
				const issued = Date.now();
				if (this.pending.size > 0) await this.pollOnce(issued);
				const wait = this.intervalMs - (Date.now() - issued);
				if (wait > 0) await new Promise((r) => setTimeout(r, wait));
			}
		})();
	}

	private async pollOnce(issued: number): Promise<void> {
		const ids = [...this.pending.keys()];
		this.polls++;
		try {
			for (let i = 0; i < ids.length; i += CHUNK) {
				const slice = ids.slice(i, i + CHUNK);
				const q = sql`SELECT DISTINCT conversation_id FROM call_events
					WHERE tenant_id = toUUID(${this.tenantId}) AND conversation_id IN (${joinSql(slice.map((id) => sql`${id}`))})`;
				for (const r of await queryRows(this.ch, q, z.object({ conversation_id: z.string() }))) {
					const at = this.pending.get(r.conversation_id);
					if (at === undefined) continue;
					this.pending.delete(r.conversation_id);
					this.visibleMs.push(Math.max(0, issued - at));
				}
			}
		} catch {
			this.pollErrors++;
		}
	}

	/** Waits until every sample was seen or `timeoutMs` passed, then stops polling. */
	async settle(timeoutMs: number): Promise<void> {
		const until = Date.now() + timeoutMs;
		while (this.pending.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, this.intervalMs));
		this.running = false;
		await this.loop;
	}

	result(): { summary: LatencySummary; unseen: number } {
		return { summary: summarise(this.visibleMs), unseen: this.pending.size };
	}
}
