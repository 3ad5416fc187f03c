import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/lib/csv';
import { validateSessionToken } from '../../src/lib/server/auth/session';
import { getDb } from '../../src/lib/server/db/index';
import type { ConversationSnapshot } from '../../src/lib/server/ingest/snapshot';
import { upsertConversationSnapshots } from '../../src/lib/server/ingest/upsert';
import { EXPORT_CHUNK_ROWS } from '../../src/lib/server/services/calls/export';
import { GET } from '../../src/routes/(app)/calls/export.csv/+server';
import { createTestConnection, uniqueId } from '../factories/ingest';
import { createTestTenant } from '../factories/tenant';
import { createTestMember, createTestUser, signedInContext } from '../factories/users';
import { connectTestStores } from '../setup/stores';

// The dashboard's CSV export through its real endpoint handler (session → locals → tenant rung → service stream):
// every call of the filter, formulas neutralised, only the caller's tenant, and flat memory for 200k calls.
const stores = connectTestStores();
afterAll(async () => {
	await stores.close();
	await getDb().close();
});
const db = stores.db.db;

/** GET /calls/export.csv?<query> as the holder of `token` (null: signed out), the way hooks.server.ts builds locals. */
async function exportAs(token: string | null, query: string): Promise<Response> {
	const auth = token ? await validateSessionToken(db, token) : null;
	const url = new URL(`http://voxcalls.test/calls/export.csv?${query}`);
	const event = {
		url,
		request: new Request(url),
		locals: { user: auth?.user ?? null, session: auth?.session ?? null },
		getClientAddress: () => '198.51.100.7'
	} as unknown as Parameters<typeof GET>[0];
	try {
		return await GET(event);
	} catch (thrown) {
		// SvelteKit's redirect() throws a value with status and location.
		const r = thrown as { status?: number; location?: string };
		if (r.status && r.location) return new Response(null, { status: r.status, headers: { location: r.location } });
		throw thrown;
	}
}

async function memberToken(tenantId: string) {
	const m = await createTestMember(db, tenantId, 'viewer');
	return (await signedInContext(db, m.id, { activeTenantId: tenantId })).token;
}

describe('calls CSV export', () => {
	it('exports every call of the filter with formula-like cells neutralised, and nothing of another tenant', async () => {
		const t = await createTestTenant(db, { name: 'Formula Dental', timezone: 'Europe/Berlin' });
		const other = await createTestTenant(db, { name: 'Other Dental', timezone: 'Europe/Berlin' });
		const conn = await createTestConnection(db, { tenantId: t.id });
		const otherConn = await createTestConnection(db, { tenantId: other.id });
		const base = { agentId: 'agent_front', agentName: 'Front Desk', source: 'poll' as const, status: 'done', durationSecs: 61, direction: 'inbound' };
		const injected = ['=HYPERLINK("http://evil.example","x")', '+SUM(1,2)', '-2+3', '@cmd', '\t=1+1', '\r=1+1'];
		const snaps: ConversationSnapshot[] = injected.map((title, i) => ({
			...base,
			connectionId: conn.id,
			conversationId: uniqueId('conv'),
			observedAt: new Date('2025-06-20T12:00:00Z'),
			startedAt: new Date(Date.UTC(2025, 5, 10, 8, i)),
			externalNumber: '+4930123456',
			title,
			summary: `summary ${i}\n=2+2 on a second line`
		}));
		// 25 more calls than one page of the dashboard, the last one on the last local day of the range (Berlin).
		for (let i = 0; i < 25; i++)
			snaps.push({ ...base, connectionId: conn.id, conversationId: uniqueId('conv'), observedAt: new Date('2025-06-20T12:00:00Z'), startedAt: new Date(Date.UTC(2025, 5, 11, 9, i)), title: 'Booking' });
		snaps.push({ ...base, connectionId: conn.id, conversationId: uniqueId('conv'), observedAt: new Date('2025-07-01T12:00:00Z'), startedAt: new Date('2025-06-30T21:30:00Z'), title: 'Late on the 30th' });
		const foreign = { ...base, connectionId: otherConn.id, conversationId: uniqueId('conv'), observedAt: new Date('2025-06-20T12:00:00Z'), startedAt: new Date('2025-06-10T08:00:00Z'), title: 'Not yours' };
		await upsertConversationSnapshots({ ctx: { db }, input: { snapshots: [...snaps, foreign] } });

		const token = await memberToken(t.id);
		const res = await exportAs(token, 'from=2025-06-01&to=2025-06-30');
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
		expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${t.slug}-calls-2025-06-01_2025-06-30.csv"`);
		const { rows, errors } = parseCsv(await res.text());
		expect(errors).toEqual([]);
		expect(rows[0]).toEqual(['Conversation ID', 'Started (Europe/Berlin)', 'Direction', 'Caller', 'Agent', 'Agent ID', 'Duration (s)', 'Status', 'Outcome', 'Title', 'Summary']);
		const body = rows.slice(1);
		expect(body).toHaveLength(snaps.length);
		expect(new Set(body.map((r) => r[0]))).toEqual(new Set(snaps.map((s) => s.conversationId)));
		expect(body.map((r) => r[0])).not.toContain(foreign.conversationId);
		// Newest first, on the tenant's wall clock: 21:30 UTC on the 30th is 23:30 in Berlin.
		expect(body[0]).toMatchObject({ 1: '2025-06-30 23:30', 2: 'Inbound', 4: 'Front Desk', 6: '61', 7: 'Done', 9: 'Late on the 30th' });
		// Every injected formula comes out as text: a leading quote, the rest intact.
		const titles = body.map((r) => r[9]);
		for (const f of injected) expect(titles).toContain(`'${f}`);
		for (const cell of body.flat()) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
		expect(body.find((r) => r[9] === `'${injected[0]}`)?.[3]).toBe(`'+4930123456`);

		// The status and search of the dashboard narrow the export the same way, and the file name says so.
		const failed = await exportAs(token, 'from=2025-06-01&to=2025-06-30&status=failed');
		expect(failed.headers.get('content-disposition')).toContain(`${t.slug}-calls-failed-2025-06-01_2025-06-30.csv`);
		expect(parseCsv(await failed.text()).rows).toHaveLength(1);
		const searched = await exportAs(token, 'from=2025-06-01&to=2025-06-30&q=second+line');
		expect(parseCsv(await searched.text()).rows).toHaveLength(1 + injected.length);

		// A member of the other tenant exports their own calls only, even naming this tenant in the header…
		const otherToken = await memberToken(other.id);
		const theirs = parseCsv(await (await exportAs(otherToken, 'from=2025-06-01&to=2025-06-30')).text()).rows;
		expect(theirs.slice(1).map((r) => r[0])).toEqual([foreign.conversationId]);
		const auth = await validateSessionToken(db, otherToken);
		const url = new URL('http://voxcalls.test/calls/export.csv?from=2025-06-01&to=2025-06-30');
		const viaHeader = await GET({
			url,
			request: new Request(url, { headers: { 'x-voxcalls-tenant': t.slug } }),
			locals: { user: auth!.user, session: auth!.session },
			getClientAddress: () => '198.51.100.7'
		} as unknown as Parameters<typeof GET>[0]);
		expect(viaHeader.status).toBe(404);
		expect(await viaHeader.text()).not.toContain(snaps[0].conversationId);
		// …a user without a tenant is refused, and a signed-out request is sent to sign in.
		const loner = await createTestUser(db);
		const { token: lonerToken } = await signedInContext(db, loner.id, { activeTenantId: null });
		expect((await exportAs(lonerToken, 'from=2025-06-01&to=2025-06-30')).status).toBe(403);
		const anon = await exportAs(null, 'from=2025-06-01&to=2025-06-30');
		expect(anon.status).toBe(303);
		expect(anon.headers.get('location')).toMatch(/^\/login\?redirectTo=/);

		// Bad filters are a clear 400 before any CSV is produced.
		const reversed = await exportAs(token, 'from=2025-06-30&to=2025-06-01');
		expect(reversed.status).toBe(400);
		expect(await reversed.text()).toContain('after it ends');
		const badDay = await exportAs(token, 'from=2025-02-30&to=2025-03-01');
		expect(badDay.status).toBe(400);
		expect(await badDay.text()).toContain('from: expected a date as YYYY-MM-DD');
		expect((await exportAs(token, 'status=bogus')).status).toBe(400);
	});

	it('streams a 200k-call filter completely while memory stays flat', { timeout: 300_000 }, async () => {
		const N = 200_000;
		const t = await createTestTenant(db, { name: 'Big Export', timezone: 'Europe/Berlin' });
		const conn = await createTestConnection(db, { tenantId: t.id });
		const prefix = uniqueId('big');
		// One statement: g-th call starts at 00:00 Berlin on June 1st + 36 s per 3 calls (ties in groups of three, so
		// chunk boundaries cut through equal start times), with a realistic ~250-character summary.
		await db.execute(sql`
			insert into conversation (conversation_id, connection_id, agent_id, tenant_id, status, status_rank, started_at,
				duration_secs, direction, call_successful, external_number, title, summary, source)
			select ${prefix} || '-' || lpad(g::text, 6, '0'), ${conn.id}::uuid, 'agent_front', ${t.id}::uuid, 'done', 3,
				timestamptz '2025-06-01 00:00:00+02' + ((g / 3) * interval '36 seconds'), 30 + g % 300, 'inbound',
				case when g % 4 = 0 then 'failure' else 'success' end, '+4930' || lpad((g % 10000000)::text, 7, '0'),
				'Booking ' || g, 'The caller asked to move an appointment, confirmed the new time, asked about parking and '
				|| 'whether the practice takes their insurance; the agent answered, booked the slot and sent a text to confirm it. Reference ' || g, 'poll'
			from generate_series(1, ${N}) as g`);

		setFlagsFromString('--expose-gc');
		const gc = runInNewContext('gc') as () => void;
		const sample = () => {
			gc();
			const m = process.memoryUsage();
			return { heap: m.heapUsed + m.external, rss: m.rss };
		};

		const token = await memberToken(t.id);
		const before = sample();
		const res = await exportAs(token, 'from=2025-06-01&to=2025-06-30');
		expect(res.status).toBe(200);
		expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${t.slug}-calls-2025-06-01_2025-06-30.csv"`);

		const reader = res.body!.getReader();
		const decoder = new TextDecoder();
		let bytes = 0;
		let lines = 0;
		let expected = N; // newest first: ids count down by exactly one, so nothing is skipped or repeated
		let peak = { heap: 0, rss: 0 };
		let reads = 0;
		let outOfOrder = 0;
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			bytes += value.byteLength;
			for (const line of decoder.decode(value).split('\r\n')) {
				if (!line) continue;
				lines++;
				if (lines === 1) continue; // header
				if (line.slice(0, line.indexOf(',')) !== `${prefix}-${String(expected).padStart(6, '0')}`) outOfOrder++;
				expected--;
			}
			// A slow reader: the stream must wait for it instead of reading ahead into memory.
			await sleep(20);
			const now = sample();
			peak = { heap: Math.max(peak.heap, now.heap - before.heap), rss: Math.max(peak.rss, now.rss - before.rss) };
			reads++;
		}
		const MB = 1024 * 1024;
		console.log(
			`[calls export] ${N.toLocaleString('en-US')} calls, ${(bytes / MB).toFixed(1)} MB of CSV in ${reads} reads; ` +
				`growth while streaming: heap+external ${(peak.heap / MB).toFixed(1)} MB, rss ${(peak.rss / MB).toFixed(1)} MB`
		);
		expect(lines - 1).toBe(N);
		expect(outOfOrder).toBe(0);
		expect(expected).toBe(0);
		expect(reads).toBeGreaterThanOrEqual(N / EXPORT_CHUNK_ROWS);
		// The document is larger than the bound, so holding it (or its rows) in memory could not pass.
		expect(bytes).toBeGreaterThan(64 * MB);
		expect(peak.heap).toBeLessThan(64 * MB);
		expect(peak.rss).toBeLessThan(64 * MB);
	});
});
