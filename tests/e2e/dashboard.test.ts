import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { addDays, startOfDayInZone, todayInZone } from '../../src/lib/days';
import { queryTenantCallTotals } from '../../src/lib/server/analytics/queries/calls/tenant-call-totals';
import type { ConversationSnapshot } from '../../src/lib/server/ingest/snapshot';
import { upsertConversationSnapshots } from '../../src/lib/server/ingest/upsert';
import { parseCsv } from '../../src/lib/csv';
import { formatNumber } from '../../src/lib/format';
import { createTestConnection, uniqueId } from '../factories/ingest';
import { createTestTenant } from '../factories/tenant';
import { createTestMember, TEST_PASSWORD } from '../factories/users';
import { connectTestStores } from '../setup/stores';
import { launchBrowser } from './browser';
import { saveScreenshot, signInThroughForm } from './helpers';
import { eventually } from '../setup/eventually';

const stores = connectTestStores();
let browser: Browser;
beforeAll(async () => {
	browser = await launchBrowser();
});
afterAll(async () => {
	await browser?.close();
	await stores.close();
});

const TZ = 'America/New_York';
const HOUR = 3_600_000;
// Calls per day over the last two weeks (index 0 = today), so the chart has a shape worth looking at.
const PER_DAY = [3, 5, 2, 6, 4, 1, 0, 3, 7, 2, 4, 5, 3, 2];

/** A tenant with calls over the last 14 days and one 20 days ago, relayed to ClickHouse by the e2e worker. */
async function seedTenantWithCalls() {
	const db = stores.db.db;
	const t = await createTestTenant(db, { name: 'Acme Dental', timezone: TZ });
	const conn = await createTestConnection(db, { tenantId: t.id });
	const now = Date.now();
	const snapshots: ConversationSnapshot[] = [];
	const call = (startedAt: Date, i: number, extra: Partial<ConversationSnapshot> = {}): ConversationSnapshot => ({
		connectionId: conn.id,
		conversationId: uniqueId('conv'),
		agentId: 'agent_front',
		agentName: 'Front Desk',
		source: 'poll',
		observedAt: new Date(now),
		status: i % 9 === 4 ? 'failed' : 'done',
		callSuccessful: i % 9 === 4 ? undefined : i % 4 === 1 ? 'failure' : 'success',
		startedAt,
		durationSecs: i % 9 === 4 ? 0 : 45 + ((i * 67) % 360),
		direction: i % 5 === 2 ? 'outbound' : 'inbound',
		cost: `${80 + ((i * 37) % 200)}.000000`,
		externalNumber: `+1415555${String(1000 + i).slice(-4)}`,
		title: ['Booking', 'Price question', 'Reschedule', 'Insurance', 'Directions'][i % 5],
		summary: 'The caller asked about an appointment.',
		...extra
	});
	let i = 0;
	PER_DAY.forEach((n, day) => {
		for (let j = 0; j < n; j++, i++) snapshots.push(call(new Date(now - day * 24 * HOUR - (j * 2 + 1) * HOUR), i));
	});
	const special = call(new Date(now - 26 * HOUR), i++, { externalNumber: '+13125550142', agentId: 'agent_night', agentName: 'After Hours', title: 'Emergency toothache' });
	const old = call(new Date(now - 20 * 24 * HOUR), i++, { title: 'Old call' });
	snapshots.push(special, old);
	await upsertConversationSnapshots({ ctx: { db }, input: { snapshots } });
	// The worker started by the e2e setup relays the outbox; wait until ClickHouse has every call.
	await eventually(async () => expect((await queryTenantCallTotals(stores.ch, { tenantId: t.id })).calls).toBe(snapshots.length), {
		what: 'the worker to relay the seeded calls to ClickHouse',
		timeoutMs: 45_000
	});
	const today = todayInZone(TZ);
	const inLast = (days: number) => snapshots.filter((s) => s.startedAt! >= startOfDayInZone(addDays(today, -(days - 1)), TZ)).length;
	return { t, snapshots, special, today, inLast };
}

async function streamText(stream: NodeJS.ReadableStream): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const c of stream) chunks.push(Buffer.from(c));
	return Buffer.concat(chunks).toString('utf8');
}

const text = async (page: Page, testid: string) => ((await page.getByTestId(testid).textContent()) ?? '').replace(/\s+/g, ' ').trim();
const tableRows = (page: Page) => page.getByTestId('calls-table').locator('tbody tr');

it('a marketer sees KPIs, the chart and the calls, changes the range and searches', async () => {
	const baseUrl = inject('baseUrl');
	const seed = await seedTenantWithCalls();
	const marketer = await createTestMember(stores.db.db, seed.t.id, 'marketer');
	const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
	const page = await context.newPage();
	await signInThroughForm(page, baseUrl, marketer.email, TEST_PASSWORD);

	// Default: the last 14 days in New York.
	const last14 = seed.inLast(14);
	expect(last14).toBeGreaterThan(40);
	await expect(text(page, 'kpi-calls')).resolves.toContain(`Calls ${formatNumber(last14)}`);
	await expect(text(page, 'range-label')).resolves.toContain('14 days · America/New_York');
	const canvas = page.getByTestId('calls-chart').locator('canvas');
	await canvas.waitFor({ state: 'visible' });
	const box = await canvas.boundingBox();
	expect(box?.width).toBeGreaterThan(400);
	expect(box?.height).toBeGreaterThan(150);
	// chart.js has drawn into the canvas: some pixels are not transparent.
	expect(await canvas.evaluate((c: HTMLCanvasElement) => c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data.some((v) => v !== 0))).toBe(true);
	await expect(tableRows(page).count()).resolves.toBe(20);
	await expect(page.getByTestId('calls-table').locator('.pager').textContent()).resolves.toContain(`${last14} rows · page 1 of 3`);
	await expect(page.getByTestId('health').textContent()).resolves.toMatch(/operational/);
	await page.waitForTimeout(500); // the chart's entry animation
	await saveScreenshot(page, 'dashboard');

	// Paging keeps the range and moves through the calls, newest first.
	const firstPageTop = await tableRows(page).first().textContent();
	await Promise.all([page.waitForURL(/page=2/), page.getByRole('link', { name: 'Next' }).click()]);
	await page.getByTestId('calls-table').filter({ hasText: 'page 2 of 3' }).waitFor();
	await expect(tableRows(page).count()).resolves.toBe(20);
	expect(await tableRows(page).first().textContent()).not.toBe(firstPageTop);

	// The whole filter exports, not the visible page: every call of the last 14 days, newest first, from the server.
	const [all] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
	expect(all.suggestedFilename()).toBe(`${seed.t.slug}-calls-${addDays(seed.today, -13)}_${seed.today}.csv`);
	const allRows = parseCsv(await streamText(await all.createReadStream())).rows;
	expect(allRows[0].slice(0, 5)).toEqual(['Conversation ID', 'Started (America/New_York)', 'Direction', 'Caller', 'Agent']);
	expect(allRows).toHaveLength(1 + last14);
	const in14 = seed.snapshots.filter((s) => s.startedAt! >= startOfDayInZone(addDays(seed.today, -13), TZ));
	expect(new Set(allRows.slice(1).map((r) => r[0]))).toEqual(new Set(in14.map((s) => s.conversationId)));

	// A preset of the range picker: the URL names it, the KPIs follow, and the last 30 days include the call from 20
	// days ago. The cards compare with the 30 days before.
	await Promise.all([page.waitForURL(/range=30d/), page.getByRole('link', { name: 'Last 30 days' }).click()]);
	await page.getByTestId('range-label').filter({ hasText: '30 days' }).waitFor();
	await expect(text(page, 'kpi-calls')).resolves.toContain(`Calls ${formatNumber(seed.inLast(30))}`);
	await expect(text(page, 'kpi-calls-change')).resolves.toBe('▲ new vs previous 30 days');
	expect(new URL(page.url()).searchParams.get('range')).toBe('30d');
	expect(new URL(page.url()).searchParams.has('from')).toBe(false);
	await expect(page.getByRole('link', { name: 'Last 30 days' }).getAttribute('aria-current')).resolves.toBe('true');
	// The picker is usable from the keyboard: arrows move between presets, Enter follows one.
	await page.getByRole('link', { name: 'Last 30 days' }).focus();
	await page.keyboard.press('ArrowLeft');
	await Promise.all([page.waitForURL(/range=7d/), page.keyboard.press('Enter')]);
	await page.getByTestId('range-label').filter({ hasText: '7 days' }).waitFor();
	await expect(text(page, 'kpi-calls')).resolves.toContain(`Calls ${formatNumber(seed.inLast(7))}`);
	await Promise.all([page.waitForURL(/range=30d/), page.getByRole('link', { name: 'Last 30 days' }).click()]);
	await page.getByTestId('range-label').filter({ hasText: '30 days' }).waitFor();

	// Search by the caller's number as people type it: one call, and the range stays.
	await page.getByRole('searchbox', { name: 'Search calls' }).fill('(312) 555-0142');
	await Promise.all([page.waitForURL(/q=/), page.getByRole('button', { name: 'Search' }).click()]);
	await page.getByTestId('calls-table').filter({ hasText: '1 row' }).waitFor();
	await expect(tableRows(page).count()).resolves.toBe(1);
	const row = await tableRows(page).first().textContent();
	expect(row).toContain('+13125550142');
	expect(row).toContain('After Hours');
	expect(new URL(page.url()).searchParams.get('range')).toBe('30d');
	await saveScreenshot(page, 'dashboard-search');
	// The export follows the search: this one call, its number neutralised against formulas.
	const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
	const found = parseCsv(await streamText(await download.createReadStream())).rows;
	expect(found).toHaveLength(2);
	expect(found[1][0]).toBe(seed.special.conversationId);
	expect(found[1]).toEqual(expect.arrayContaining(["'+13125550142", 'After Hours', 'Emergency toothache']));

	// A range before any call: KPIs at zero, no rate, and the table's empty state.
	await page.getByLabel('From', { exact: true }).fill('2020-01-01');
	await page.getByLabel('To', { exact: true }).fill('2020-01-31');
	await Promise.all([page.waitForURL(/from=2020-01-01/), page.getByRole('button', { name: 'Apply' }).click()]);
	await page.getByTestId('range-label').filter({ hasText: '31 days' }).waitFor();
	await expect(text(page, 'kpi-calls')).resolves.toContain('Calls 0');
	await expect(text(page, 'kpi-success')).resolves.toContain('—');
	await page.getByTestId('chart-empty').waitFor();
	await page.getByRole('link', { name: 'Clear' }).first().click();
	await page.getByText('No calls in this range yet').waitFor();
	await saveScreenshot(page, 'dashboard-empty');

	// A reversed range is refused with a readable message, and the status card is still there.
	await page.goto(`${baseUrl}/?from=2025-03-14&to=2025-03-01`);
	await expect(text(page, 'range-error')).resolves.toContain('after it ends');
	await expect(page.getByTestId('health').textContent()).resolves.toMatch(/operational/);
	await context.close();
});
