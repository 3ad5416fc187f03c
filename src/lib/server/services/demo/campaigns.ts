import { Readable } from 'node:stream';
import { and, eq } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { addDays, startOfDayInZone, todayInZone } from '../../../days';
import type { DbHandle } from '../../db/client';
import { campaign, mailDrop, recipient, tenant } from '../../db/schema/index';
import { AddressRateLimiter } from '../../ingest/tracking-rate-limit';
import { TrackingWriter } from '../../ingest/tracking-writer';
import { createCampaign } from '../campaigns/index';
import { startMailDropImport, uploadMailDrop } from '../campaigns/drops';
import { runRecipientImport } from '../campaigns/recipient-import';
import { systemActor, type TenantServiceCtx } from '../context';
import { recordTrackingHit } from '../tracking/index';

// Demo campaigns for `npm start`: three campaigns of the demo tenant with thousands of recipients and 90 days of QR
// scans and page views. Everything enters through the product's own doors: the campaign verb, the CSV upload and
// import (a generated file, with a few bad rows so the error list has something to show), and the tracking
// endpoints' intake verb (dated in the past; the demo's only difference from a phone). Some recipients carry the
// numbers the emulator's calls will come from, so attribution finds matches. Idempotent: a campaign that exists is
// left alone. Deterministic: the same recipients and scans every time (a seeded PRNG).

interface DemoDrop {
	daysAgo: number;
	recipients: number;
	/** Recipients of the campaign's earlier drop mailed again (merged by phone). */
	repeatFromPrevious?: number;
}

interface DemoCampaign {
	name: string;
	channel: 'direct_mail' | 'print_qr';
	status: 'active' | 'ended';
	landingUrl: string;
	utmCampaign?: string;
	notes: string;
	drops: DemoDrop[];
	/** Share of recipients who scan at least once. */
	scanRate: number;
}

export const DEMO_CAMPAIGNS: DemoCampaign[] = [
	{
		name: 'Spring smile postcards',
		channel: 'direct_mail',
		status: 'active',
		landingUrl: 'https://acme-dental.example/spring-checkup?offer=free-xray',
		utmCampaign: 'spring-smile',
		notes: 'Postcards to past patients; free X-ray with a check-up.',
		drops: [
			{ daysAgo: 88, recipients: 2500 },
			{ daysAgo: 45, recipients: 2000, repeatFromPrevious: 400 }
		],
		scanRate: 0.11
	},
	{
		name: 'Whitening QR flyers',
		channel: 'print_qr',
		status: 'active',
		landingUrl: 'https://acme-dental.example/whitening',
		notes: 'Flyers left at local gyms and cafés.',
		drops: [{ daysAgo: 60, recipients: 1500 }],
		scanRate: 0.07
	},
	{
		name: 'Implant consult mailer',
		channel: 'direct_mail',
		status: 'ended',
		landingUrl: 'https://acme-dental.example/implants',
		notes: 'Letters to patients over 55; ended after its single drop.',
		drops: [{ daysAgo: 84, recipients: 1200 }],
		scanRate: 0.05
	}
];

// A phone's browser, as the tracking endpoints would see it (a made-up agent would be judged a bot, and not counted).
const DEMO_PHONE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const FIRST = ['Alice', 'Ben', 'Chloe', 'Dev', 'Emma', 'Felix', 'Grace', 'Hiro', 'Isla', 'Jamal', 'Kate', 'Liam', 'Maya', 'Noah', 'Olivia', 'Priya', 'Quinn', 'Rosa', 'Sam', 'Tara'];
const LAST = ['Adams', 'Baker', 'Chen', 'Diaz', 'Evans', 'Fischer', 'Garcia', 'Hughes', 'Ito', 'Jones', 'Khan', 'Lopez', 'Martin', 'Nguyen', "O'Brien", 'Patel'];
const AREA = ['212', '646', '718', '917', '347', '201', '973', '914'];

function prng(seed: number) {
	let a = seed >>> 0;
	const next = () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
	return { next, int, pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)] };
}

type Rng = ReturnType<typeof prng>;

/** A recipient row as a marketer's export would have it: national-format numbers, sometimes international. */
function personRow(r: Rng, n: number, phone?: string): string[] {
	const first = r.pick(FIRST);
	const last = r.pick(LAST);
	let number = phone;
	if (!number) {
		let exchange: string;
		do exchange = `${r.int(2, 9)}${r.int(0, 9)}${r.int(0, 9)}`;
		while (exchange === '555' || exchange.endsWith('11'));
		const area = r.pick(AREA);
		const line = String(r.int(0, 9999)).padStart(4, '0');
		number = r.next() < 0.5 ? `(${area}) ${exchange}-${line}` : `${area}-${exchange}-${line}`;
	}
	return [first, last, number, `${first}.${last}.${n}@mail.example`.toLowerCase().replace(/'/g, ''), String(r.int(10001, 10299)), `P${100000 + n}`];
}

const csvField = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
const csvLine = (fields: string[]) => fields.map(csvField).join(',');

export interface DemoCampaignsResult {
	created: string[];
	recipients: number;
	scans: number;
	pageViews: number;
}

/**
 * Seeds the demo tenant's campaigns (skipping those that exist). `callerNumbers` are numbers the emulator will call
 * from; a share of them become recipients. `now` fixes "today" for tests.
 */
export async function seedDemoCampaigns(opts: {
	db: DbHandle;
	tenantSlug: string;
	storageDir: string;
	callerNumbers?: string[];
	now?: Date;
}): Promise<DemoCampaignsResult> {
	const { db } = opts;
	const now = opts.now ?? new Date();
	const [t] = await db.db.select().from(tenant).where(eq(tenant.slug, opts.tenantSlug));
	if (!t) throw new Error(`demo tenant ${opts.tenantSlug} does not exist`);
	const ctx: TenantServiceCtx = { db: db.db, actor: systemActor('demo-seed'), tenant: t, role: 'tenant_admin' };
	const result: DemoCampaignsResult = { created: [], recipients: 0, scans: 0, pageViews: 0 };
	const callers = [...(opts.callerNumbers ?? [])];
	const intake = { writer: new TrackingWriter(db.sql), limiter: new AddressRateLimiter(1) };
	const today = todayInZone(t.timezone, now);

	for (const [ci, spec] of DEMO_CAMPAIGNS.entries()) {
		const [exists] = await db.db.select({ id: campaign.id }).from(campaign).where(and(eq(campaign.tenantId, t.id), eq(campaign.name, spec.name)));
		if (exists) continue;
		const r = prng(1000 + ci);
		const c = await createCampaign({
			ctx,
			input: {
				name: spec.name,
				channel: spec.channel,
				status: spec.status,
				startDate: addDays(today, -Math.max(...spec.drops.map((d) => d.daysAgo)) - 3),
				endDate: spec.status === 'ended' ? addDays(today, -20) : null,
				landingUrl: spec.landingUrl,
				utmCampaign: spec.utmCampaign ?? null,
				notes: spec.notes
			}
		});
		result.created.push(spec.name);

		let previous: string[][] = [];
		for (const [di, d] of spec.drops.entries()) {
			const rows: string[][] = [];
			for (let i = 0; i < d.recipients - (d.repeatFromPrevious ?? 0); i++) {
				// About one recipient in forty is someone the emulator will call from.
				const phone = callers.length > 0 && r.next() < 0.025 ? callers.shift() : undefined;
				rows.push(personRow(r, ci * 100_000 + di * 10_000 + i, phone));
			}
			rows.push(...previous.slice(0, d.repeatFromPrevious ?? 0));
			const lines = ['first_name,last_name,phone,email,postcode,customer_id', ...rows.map(csvLine)];
			// A few rows as they really arrive: no number, a number too short.
			lines.splice(40, 0, csvLine(['Pat', 'Nonumber', '', 'pat@mail.example', '10010', '']));
			lines.splice(400, 0, csvLine(['Lee', 'Short', '555-01', 'lee@mail.example', '10011', '']));
			previous = rows;
			const sentOn = addDays(today, -d.daysAgo);
			const drop = await uploadMailDrop({
				ctx,
				input: {
					campaignId: c.id,
					fileName: `${spec.name.toLowerCase().replace(/\W+/g, '-')}-${di + 1}.csv`,
					sentOn,
					name: `${spec.name} — drop ${di + 1}`,
					body: Readable.from([lines.join('\r\n') + '\r\n']),
					storageDir: opts.storageDir,
					maxBytes: 64 * 1_048_576
				}
			});
			await startMailDropImport({ ctx, input: { dropId: drop.id, mapping: drop.guessedMapping } });
			const outcome = await runRecipientImport({ ctx: { db: db.db, actor: ctx.actor }, input: { dropId: drop.id, storageDir: opts.storageDir } });
			result.recipients += outcome.recipientCount;
		}

		// Scans and page views, through the tracking intake, dated between each recipient's drop and now.
		const recipients = await db.db
			.select({ code: recipient.trackingCode, sentOn: mailDrop.sentOn })
			.from(recipient)
			.innerJoin(mailDrop, eq(mailDrop.id, recipient.createdDropId))
			.where(eq(recipient.campaignId, c.id))
			.orderBy(recipient.trackingCode);
		const pending: Promise<unknown>[] = [];
		const hit = (code: string, kind: 'scan' | 'page_view', at: Date, url?: string) => {
			pending.push(recordTrackingHit({ ctx: intake, input: { kind, code, method: 'GET', userAgent: DEMO_PHONE_UA, purpose: null, address: null, at, url } }));
			if (kind === 'scan') result.scans++;
			else result.pageViews++;
		};
		for (const rec of recipients) {
			if (r.next() >= spec.scanRate) continue;
			const sent = startOfDayInZone(rec.sentOn, t.timezone).getTime();
			// Mail arrives 2–5 days after it is sent; most scans come in the first two weeks after that.
			const scans = r.next() < 0.2 ? 2 : 1;
			for (let s = 0; s < scans; s++) {
				const delayDays = 2 + Math.floor(-Math.log(1 - r.next()) * 6);
				const local = DateTime.fromMillis(sent, { zone: t.timezone }).plus({ days: delayDays, hours: r.int(8, 21), minutes: r.int(0, 59) });
				const at = local.toJSDate();
				if (at.getTime() > now.getTime()) continue;
				hit(rec.code, 'scan', at);
				// Most scanners see the landing page, some browse on.
				if (r.next() < 0.75) {
					const pages = r.next() < 0.3 ? r.int(2, 4) : 1;
					for (let p = 0; p < pages; p++) {
						const viewAt = new Date(at.getTime() + (p + 1) * r.int(5, 90) * 1000);
						if (viewAt.getTime() <= now.getTime()) hit(rec.code, 'page_view', viewAt, p === 0 ? spec.landingUrl : `${new URL(spec.landingUrl).origin}/book`);
					}
				}
			}
		}
		const outcomes = (await Promise.all(pending)) as Awaited<ReturnType<typeof recordTrackingHit>>[];
		const lost = outcomes.filter((o) => o.status >= 400 || !('counted' in o) || !o.counted).length;
		if (lost > 0) throw new Error(`demo tracking: ${lost} hits were refused or not counted`);
	}
	await intake.writer.drain();
	return result;
}
