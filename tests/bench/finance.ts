// Finance benchmark: closing a month for every tenant, and the finance page's queries, on a generated data set
// (default 10M calls over 100 tenants, the scale; `--quick` 200k; `--calls=N --tenants=N` to choose),
// each printed beside the same figures computed straight from PostgreSQL in the same run (one plain aggregate per
// tenant: what a hand-written report would run). Timing never fails the run; a total that disagrees with the
// reference does.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { createDb } from '../../src/lib/server/db/client';
import { systemActor } from '../../src/lib/server/services/context';
import { saveBillingRule } from '../../src/lib/server/services/finance/rules';
import { closeMonth, previewTenantMonth } from '../../src/lib/server/services/finance/statements';
import { monthWindow } from '../../src/lib/server/services/finance/usage';
import { benchStoreUrls, prepareBenchStores } from './lib/stores';
import { fmtInt, fmtMs, renderTable, summarise } from './lib/stats';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ZONES = ['UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Kolkata', 'Australia/Adelaide', 'America/Los_Angeles', 'Asia/Kathmandu', 'Pacific/Auckland'];
const PERIOD = '2025-01';

function arg(argv: string[], name: string): number | undefined {
	const a = argv.find((x) => x.startsWith(`--${name}=`));
	return a ? Number(a.split('=')[1]) : undefined;
}

export async function runFinanceBenchmark(argv: string[]): Promise<{ lossFree: boolean }> {
	const quick = argv.includes('--quick');
	const calls = arg(argv, 'calls') ?? (quick ? 200_000 : 10_000_000);
	const tenants = arg(argv, 'tenants') ?? 100;
	const log = (s: string) => console.log(`[finance] ${s}`);
	await prepareBenchStores(root, log);
	const handle = createDb(benchStoreUrls().DATABASE_URL, { max: 4, applicationName: 'bench-finance' });
	const db = handle.db;
	const actor = systemActor('bench');
	try {
		// Tenants, one connection each (secrets are placeholders: nothing talks upstream), rules and rates.
		const t0 = Date.now();
		await db.execute(sql`
			insert into tenant (name, slug, timezone)
			select 'Bench tenant ' || i, 'bench-' || i, (${sql.param(ZONES)}::text[])[1 + (i % ${ZONES.length})] from generate_series(1, ${tenants}) i`);
		await db.execute(sql`
			insert into elevenlabs_connection (tenant_id, name, base_url, api_key_sealed, api_key_hint, webhook_secret_sealed, webhook_secret_hint)
			select id, 'bench ' || slug, 'http://127.0.0.1:1', 'x', 'xxxx', 'x', 'xxxx' from tenant`);
		await db.execute(sql`insert into upstream_credit_rate (connection_id, per_credit) select id, 0.00018 from elevenlabs_connection`);
		await db.execute(sql`insert into telephony_rate (tenant_id, phone_number, per_minute) values (null, null, 0.013)`);
		const tenantRows = (await db.execute(sql`select t.id, t.timezone, c.id as connection_id from tenant t join elevenlabs_connection c on c.tenant_id = t.id order by t.slug`)) as unknown as {
			id: string;
			timezone: string;
			connection_id: string;
		}[];
		for (const [i, t] of tenantRows.entries()) {
			await saveBillingRule({
				ctx: { db, actor },
				input: { tenantId: t.id, effectiveFrom: '2024-01', rounding: (['per_second', 'per_minute', 'per_n_seconds'] as const)[i % 3], roundToSecs: 30, minBillableSecs: i % 2 ? 10 : 0, countFailedCalls: i % 4 === 0, includedMinutes: 1000 + i * 10, pricePerMinute: '0.12', pricePerConversion: '0' }
			});
		}
		// Calls: spread over the tenant's January and the first days of February, 8 % failed, 2 agents, 3 numbers.
		const perTenant = Math.ceil(calls / tenants);
		const chunk = Math.max(1, Math.floor(500_000 / perTenant));
		for (let i = 0; i < tenantRows.length; i += chunk) {
			const slice = tenantRows.slice(i, i + chunk);
			await db.execute(sql`
				insert into conversation (conversation_id, connection_id, agent_id, tenant_id, status, status_rank, version, started_at, duration_secs, cost, source, agent_number)
				select 'bench_' || t.tenant_id || '_' || g, t.connection_id, 'agent_' || (g % 2), t.tenant_id,
					case when g % 13 = 0 then 'failed' else 'done' end, 3, 1,
					timestamptz '2025-01-01 00:00:00+00' + ((g::bigint * 2851) % (34 * 86400)) * interval '1 second',
					case when g % 13 = 0 then 0 else (g * 7919) % 600 end, ((g * 104729) % 200000) / 100.0, 'poll', '+1415555' || lpad((g % 3)::text, 4, '0')
				from unnest(${sql.param(slice.map((t) => t.id))}::uuid[], ${sql.param(slice.map((t) => t.connection_id))}::uuid[]) with ordinality as t(tenant_id, connection_id, ordinality),
					generate_series(1, ${perTenant}) g`);
			log(`calls: ${fmtInt(Math.min(tenantRows.length, i + chunk) * perTenant)} / ${fmtInt(perTenant * tenantRows.length)}`);
		}
		await db.execute(sql`analyze`);
		log(`data set ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${fmtInt(perTenant * tenantRows.length)} calls, ${tenantRows.length} tenants`);

		// Reference: the month's calls and seconds per tenant, straight from PostgreSQL, one aggregate per tenant.
		const reference = async (t: (typeof tenantRows)[number]) => {
			const { start, end } = monthWindow(PERIOD, t.timezone);
			const [r] = (await db.execute(sql`
				select count(*)::int as calls, coalesce(sum(duration_secs), 0)::bigint::text as secs from conversation
				where tenant_id = ${t.id}::uuid and started_at >= ${start.toISOString()}::timestamptz and started_at < ${end.toISOString()}::timestamptz
					and status in ('done', 'failed')`)) as unknown as { calls: number; secs: string }[];
			return r;
		};
		const refStart = Date.now();
		const refTotals = new Map<string, { calls: number; secs: string }>();
		for (const t of tenantRows) refTotals.set(t.id, await reference(t));
		const refCloseMs = Date.now() - refStart;

		// Monthly close of every tenant.
		const closeStart = Date.now();
		const outcomes = await closeMonth({ ctx: { db, actor }, input: { period: PERIOD, now: new Date('2025-03-01T00:00:00Z') } });
		const closeMs = Date.now() - closeStart;
		const closed = outcomes.filter((o) => o.outcome === 'closed').length;

		// Correctness: every statement's calls and seconds equal the reference.
		const stmts = (await db.execute(sql`select tenant_id, calls, connected_secs::text as secs from statement where period = ${PERIOD}`)) as unknown as { tenant_id: string; calls: number; secs: string }[];
		const mismatches = stmts.filter((s) => {
			const r = refTotals.get(s.tenant_id);
			return !r || r.calls !== s.calls || r.secs !== s.secs;
		}).length;

		// The finance page's queries (a tenant's month with its agents and pending adjustments), twice per tenant.
		const pageMs: number[] = [];
		const refMs: number[] = [];
		for (let round = 0; round < 2; round++) {
			for (const t of tenantRows) {
				let s = performance.now();
				await previewTenantMonth(db, t, PERIOD);
				pageMs.push(performance.now() - s);
				s = performance.now();
				await reference(t);
				refMs.push(performance.now() - s);
			}
		}
		const page = summarise(pageMs);
		const ref = summarise(refMs);
		console.log(
			'\n' +
				renderTable(
					['metric', 'VoxCalls', 'straight from PostgreSQL', 'target', 'met?'],
					[
						[`close ${PERIOD} for ${tenantRows.length} tenants`, `${(closeMs / 1000).toFixed(1)} s (${closed} statements)`, `${(refCloseMs / 1000).toFixed(1)} s (totals only)`, '≤ 30 s', closeMs <= 30_000 ? 'yes' : 'no'],
						['finance page queries p50', fmtMs(page.p50), fmtMs(ref.p50), '', ''],
						['finance page queries p95', fmtMs(page.p95), fmtMs(ref.p95), '≤ 100 ms', page.p95 <= 100 ? 'yes' : 'no'],
						['statements equal to the reference', `${stmts.length - mismatches} / ${stmts.length}`, '—', 'all', mismatches === 0 ? 'yes' : 'no']
					]
				)
		);
		return { lossFree: mismatches === 0 && closed === tenantRows.length };
	} finally {
		await handle.close();
	}
}
