import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DbHandle, DbOrTx } from '../../src/lib/server/db/client';
import { campaign, mailDrop, recipient, recipientDrop } from '../../src/lib/server/db/schema/index';
import { AddressRateLimiter } from '../../src/lib/server/ingest/tracking-rate-limit';
import { TrackingWriter } from '../../src/lib/server/ingest/tracking-writer';
import { generateTrackingCodes } from '../../src/lib/server/services/campaigns/tracking-code';
import type { TrackingIntake } from '../../src/lib/server/services/tracking/index';
import { handleTrackingRequest } from '../../src/lib/server/web-tracking';

// A campaign with completed mail drops and recipients holding tracking codes, written directly: the tracking tests
// need codes to scan, not the CSV import (which has tests of its own).

export interface TrackedCampaign {
	campaignId: string;
	drops: { id: string; sentOn: string; recipients: { id: string; code: string }[] }[];
}

export async function createTrackedCampaign(
	db: DbOrTx,
	input: { tenantId: string; landingUrl?: string | null; utm?: { source?: string; medium?: string; campaign?: string }; drops: { sentOn: string; recipients: number }[] }
): Promise<TrackedCampaign> {
	const suffix = randomUUID().slice(0, 8);
	const [c] = await db
		.insert(campaign)
		.values({
			tenantId: input.tenantId,
			name: `Tracked ${suffix}`,
			channel: 'direct_mail',
			status: 'active',
			landingUrl: input.landingUrl === undefined ? 'https://example.test/offer' : input.landingUrl,
			utmSource: input.utm?.source ?? null,
			utmMedium: input.utm?.medium ?? null,
			utmCampaign: input.utm?.campaign ?? null
		})
		.returning({ id: campaign.id });
	const out: TrackedCampaign = { campaignId: c.id, drops: [] };
	for (const [i, d] of input.drops.entries()) {
		const [drop] = await db
			.insert(mailDrop)
			.values({
				tenantId: input.tenantId,
				campaignId: c.id,
				name: `Drop ${i + 1}`,
				sentOn: d.sentOn,
				status: 'completed',
				fileName: `drop-${i + 1}.csv`,
				fileBytes: 100,
				recipientCount: d.recipients
			})
			.returning({ id: mailDrop.id });
		const codes = generateTrackingCodes(d.recipients);
		const recipients = codes.map((code) => ({ id: randomUUID(), code }));
		// In slices: PostgreSQL takes at most 65,535 parameters per statement.
		for (let i = 0; i < recipients.length; i += 5000) {
			const slice = recipients.slice(i, i + 5000);
			await db.insert(recipient).values(slice.map((r) => ({ id: r.id, tenantId: input.tenantId, campaignId: c.id, createdDropId: drop.id, trackingCode: r.code })));
			await db.insert(recipientDrop).values(slice.map((r, j) => ({ tenantId: input.tenantId, dropId: drop.id, recipientId: r.id, line: i + j + 2 })));
		}
		out.drops.push({ id: drop.id, sentOn: d.sentOn, recipients });
	}
	return out;
}

/** Links an existing recipient to another drop of its campaign (a merged duplicate in a later import). */
export async function linkRecipientToDrop(db: DbOrTx, input: { tenantId: string; dropId: string; recipientId: string }) {
	await db.insert(recipientDrop).values({ ...input, line: 2 });
}

/** A tracking intake over the test database, with its own code cache and limit, and a count of what it wrote. */
export function testTrackingIntake(db: DbHandle, opts: { limitPerMinute?: number } = {}) {
	const writer = new TrackingWriter(db.sql);
	const intake: TrackingIntake = {
		writer,
		limiter: new AddressRateLimiter(opts.limitPerMinute ?? 100_000)
	};
	return { intake, writer };
}

/** The node:http tracking endpoints (as web-server.ts serves them) on a random local port. */
export async function startTrackingServer(intake: TrackingIntake): Promise<{ url: string; server: Server; close(): Promise<void> }> {
	const server = createServer((req, res) => {
		if (!handleTrackingRequest(req, res, intake)) {
			res.writeHead(404);
			res.end();
		}
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		server,
		close: () =>
			new Promise<void>((r) => {
				server.closeAllConnections();
				server.close(() => r());
			})
	};
}
