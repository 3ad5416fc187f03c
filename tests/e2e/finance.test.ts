import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import Papa from 'papaparse';
import { addDecimals, formatDecimal } from '../../src/lib/decimal';
import type { ConversationSnapshot } from '../../src/lib/server/ingest/snapshot';
import { upsertConversationSnapshots } from '../../src/lib/server/ingest/upsert';
import { userActor } from '../../src/lib/server/services/context';
import { saveBillingRule } from '../../src/lib/server/services/finance/index';
import { createTestConnection, uniqueId } from '../factories/ingest';
import { createTestTenant } from '../factories/tenant';
import { addMembership, createTestUser, TEST_PASSWORD } from '../factories/users';
import { connectTestStores } from '../setup/stores';
import { launchBrowser } from './browser';
import { signInThroughForm } from './helpers';

// Finance closes a month and downloads the minutes CSV, whose totals match the page; a late call for that month then
// arrives, and the next month's statement carries it as an adjustment.
const stores = connectTestStores();
let browser: Browser;
beforeAll(async () => {
	browser = await launchBrowser();
});
afterAll(async () => {
	await browser?.close();
	await stores.close();
});

const text = async (page: Page, testid: string) => ((await page.getByTestId(testid).textContent()) ?? '').replace(/\s+/g, ' ').trim();

async function streamText(stream: NodeJS.ReadableStream): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const c of stream) chunks.push(Buffer.from(c));
	return Buffer.concat(chunks).toString('utf8');
}

it('closes a month, exports minutes that match the page, and books a late call on the next statement', async () => {
	const baseUrl = inject('baseUrl');
	const db = stores.db.db;
	const suffix = uniqueId('fin').slice(-8);
	const t = await createTestTenant(db, { name: `Finance Dental ${suffix}`, slug: `fin-${suffix}`, timezone: 'Europe/Berlin' });
	const conn = await createTestConnection(db, { tenantId: t.id });
	const platformFinance = await createTestUser(db, { label: 'platform-finance', isPlatformAdmin: true });
	await addMembership(db, t.id, platformFinance.id, 'finance');
	await saveBillingRule({
		ctx: { db, actor: userActor(platformFinance) },
		input: { tenantId: t.id, effectiveFrom: '2024-01', rounding: 'per_minute', minBillableSecs: 0, countFailedCalls: false, includedMinutes: 1, pricePerMinute: '0.40', pricePerConversion: '0' }
	});
	const call = (at: string, durationSecs: number): ConversationSnapshot => ({
		connectionId: conn.id,
		conversationId: uniqueId('conv'),
		agentId: 'agent_front',
		source: 'poll',
		observedAt: new Date(at),
		status: 'done',
		startedAt: new Date(at),
		durationSecs,
		cost: '250.000000'
	});
	await upsertConversationSnapshots({ ctx: { db }, input: { snapshots: [call('2025-01-05T09:00:00Z', 61), call('2025-01-17T09:00:00Z', 200), call('2025-01-30T09:00:00Z', 45)] } });

	const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
	const page = await context.newPage();
	await signInThroughForm(page, baseUrl, platformFinance.email, TEST_PASSWORD);
	await page.goto(`${baseUrl}/finance?period=2025-01`);
	await page.getByTestId('tenant-month').waitFor();

	// 1. Close January for this tenant.
	await page.getByTestId(`close-fin-${suffix}`).click();
	await page.getByTestId('closed-statement').waitFor();
	const statementNumber = await text(page, 'closed-statement');
	const pageSecs = await text(page, 'fin-connected');
	const pagePrice = await text(page, 'fin-price');
	expect(pageSecs).toContain('306');
	// 2, 4 and 1 billable minutes, 1 included: 6 minutes charged at 0.40.
	expect(pagePrice).toContain('2.40');

	// The minutes CSV's totals equal what the page shows.
	const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('minutes-csv').click()]);
	const csv = Papa.parse<Record<string, string>>((await streamText(await download.createReadStream())).trim(), { header: true });
	expect(csv.data).toHaveLength(1);
	expect(csv.data[0]).toMatchObject({ period: '2025-01', line: 'usage', calls: '3', connected_seconds: '306', statement_number: statementNumber });
	expect(pageSecs).toContain(String(csv.data.reduce((n, r) => n + Number(r.connected_seconds), 0)));
	expect(pagePrice).toContain(formatDecimal(addDecimals(csv.data.map((r) => r.price), 2)));

	// 2. A late call for January (Jan 31, 23:30 in Berlin) arrives after the close.
	await upsertConversationSnapshots({ ctx: { db }, input: { snapshots: [call('2025-01-31T22:30:00Z', 90)] } });
	await page.reload();
	await page.getByTestId('closed-statement').waitFor();
	expect(await text(page, 'closed-statement')).toBe(statementNumber);

	// 3. The next statement carries it as an adjustment of January.
	await page.goto(`${baseUrl}/finance?period=2025-02`);
	await page.getByTestId('pending-adjustments').waitFor();
	expect(await text(page, 'pending-adjustments')).toContain('2025-01');
	await page.getByTestId(`close-fin-${suffix}`).click();
	await page.getByTestId('closed-statement').waitFor();
	await page.getByTestId('closed-statement').click();
	await page.getByTestId('statement-adjustments').waitFor();
	const adjustments = await text(page, 'statement-adjustments');
	expect(adjustments).toContain('2025-01');
	// 90 s rounds up to 2 minutes, all beyond the allowance: 0.80.
	expect(adjustments).toContain('0.80');
	expect(await text(page, 'statement-total')).toContain('0.80');
	await context.close();
});
