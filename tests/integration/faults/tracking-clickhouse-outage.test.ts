import { execFileSync } from 'node:child_process';
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { afterAll, expect, it } from 'vitest';
import { queryRows } from '../../../src/lib/server/analytics/client';
import { sql as chSql } from '../../../src/lib/server/analytics/literal';
import { outbox, trackingEvent } from '../../../src/lib/server/db/schema/index';
import { runOutboxRelayLoop } from '../../../src/lib/server/ingest/loops';
import { createTestTenant } from '../../factories/tenant';
import { createTrackedCampaign, startTrackingServer, testTrackingIntake } from '../../factories/tracked-recipients';
import { connectTestStores } from '../../setup/stores';

// Scans while the real ClickHouse server is stopped: every one is redirected at once (the redirect waits only for
// PostgreSQL), the scans wait in the outbox, and once ClickHouse is back the running relay delivers each exactly once.
const stores = connectTestStores();
const storesSh = (cmd: string) => execFileSync('bash', ['scripts/stores.sh', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });
afterAll(async () => {
	storesSh('start-clickhouse');
	await stores.close();
});

async function until(what: string, ms: number, fn: () => Promise<boolean>) {
	const end = Date.now() + ms;
	while (Date.now() < end) {
		if (await fn()) return;
		await new Promise((r) => setTimeout(r, 250));
	}
	throw new Error(`timed out waiting for ${what}`);
}

it('counts scans made while ClickHouse is stopped exactly once after it returns', { timeout: 180_000 }, async () => {
	const t = await createTestTenant(stores.db.db);
	const c = await createTrackedCampaign(stores.db.db, { tenantId: t.id, drops: [{ sentOn: '2026-01-10', recipients: 30 }] });
	const { intake } = testTrackingIntake(stores.db);
	const server = await startTrackingServer(intake);
	const stop = new AbortController();
	storesSh('stop-clickhouse');
	const loop = runOutboxRelayLoop(
		{ db: stores.db, ch: stores.ch },
		// settleMs is shortened only so an in-doubt batch (a reset socket on restart) does not slow the test.
		{ durationMs: 150_000, batchRows: 500, batchMs: 50, pollMs: 200, settleMs: 3_000, signal: stop.signal }
	);
	const ua = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36';
	try {
		// Each of the 30 recipients scans twice: 60 scans, all redirected while ClickHouse is down.
		const codes = c.drops[0].recipients.flatMap((r) => [r.code, r.code]);
		const answers = await Promise.all(codes.map((code) => fetch(`${server.url}/q/${code}`, { headers: { 'user-agent': ua }, redirect: 'manual' })));
		expect(answers.map((a) => a.status)).toEqual(codes.map(() => 302));
		const [{ n: stored }] = await stores.db.db.select({ n: sql<number>`count(*)::int` }).from(trackingEvent).where(eq(trackingEvent.campaignId, c.campaignId));
		expect(stored).toBe(60);
		await new Promise((r) => setTimeout(r, 1_500));
		const pending = async () =>
			(await stores.db.db.select({ n: sql<number>`count(*)::int` }).from(outbox).where(sql`${outbox.payload}->>'campaign_id' = ${c.campaignId}`))[0].n;
		expect(await pending()).toBe(60);

		storesSh('start-clickhouse');
		await until('the outbox to drain', 90_000, async () => (await pending()) === 0);
	} finally {
		stop.abort();
		await server.close();
		const report = await loop;
		expect(report.ran).toBe(true);
		expect(report.errors).toBeGreaterThan(0);
	}
	const [row] = await queryRows(
		stores.ch,
		chSql`SELECT count() AS raw, uniqExact(event_id) AS ids, uniqExact(recipient_id) AS recipients FROM tracking_events WHERE campaign_id = toUUID(${c.campaignId})`,
		z.object({ raw: z.coerce.number(), ids: z.coerce.number(), recipients: z.coerce.number() })
	);
	// Without FINAL: no row landed twice.
	expect(row).toEqual({ raw: 60, ids: 60, recipients: 30 });
});
