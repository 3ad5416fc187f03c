import type postgres from 'postgres';

// A poor man's wait-event profile of PostgreSQL (BENCH_PROFILE=1): samples pg_stat_activity every 20 ms during a
// window and counts what each active backend of the bench database was doing (on CPU, waiting for WAL flush, for
// a lock, or for its client to send the rest of a message), by statement. Enough to tell where commits wait.

export class PgWaitSampler {
	private readonly counts = new Map<string, number>();
	private samples = 0;
	private running = false;
	private loop: Promise<void> | null = null;

	constructor(
		private readonly sql: postgres.Sql,
		private readonly database: string
	) {}

	start(): void {
		this.running = true;
		this.loop = (async () => {
			while (this.running) {
				const rows = await this.sql<{ app: string; wait: string; query: string }[]>`
					select application_name as app, coalesce(wait_event_type || ':' || wait_event, 'CPU') as wait,
					       regexp_replace(left(query, 60), '\\s+', ' ', 'g') as query
					from pg_stat_activity
					where datname = ${this.database} and state = 'active' and pid <> pg_backend_pid()`.catch(() => []);
				this.samples++;
				for (const r of rows) {
					const key = `${r.wait.padEnd(22)} ${r.app.padEnd(16)} ${r.query.trim()}`;
					this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
				}
				await new Promise((r) => setTimeout(r, 20));
			}
		})();
	}

	async stop(): Promise<string[]> {
		this.running = false;
		await this.loop;
		const top = [...this.counts].sort((a, b) => b[1] - a[1]).slice(0, 15);
		return [
			`PostgreSQL active backends by wait and statement (${this.samples} samples; count = samples seen in that state):`,
			...top.map(([k, n]) => `  ${String(n).padStart(5)}  ${k}`)
		];
	}
}
