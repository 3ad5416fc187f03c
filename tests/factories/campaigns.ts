import { randomUUID } from 'node:crypto';
import type { DbOrTx } from '../../src/lib/server/db/client';
import { campaign, mailDrop, recipient, recipientDrop, type MailDropStatus } from '../../src/lib/server/db/schema/index';
import { generateTrackingCodes } from '../../src/lib/server/services/campaigns/tracking-code';

// Campaigns and drops written directly, for tests about access and listing (the CSV import has tests of its own).

export async function createTestCampaign(db: DbOrTx, tenantId: string, overrides: Partial<typeof campaign.$inferInsert> = {}) {
	const [row] = await db
		.insert(campaign)
		.values({ tenantId, name: `Campaign ${randomUUID().slice(0, 8)}`, channel: 'direct_mail', ...overrides })
		.returning();
	return row;
}

export async function createTestDrop(
	db: DbOrTx,
	c: { id: string; tenantId: string },
	opts: { status?: MailDropStatus; headers?: string[]; sentOn?: string; recipients?: { phone: string; firstName?: string; customerId?: string }[] } = {}
) {
	const [drop] = await db
		.insert(mailDrop)
		.values({
			tenantId: c.tenantId,
			campaignId: c.id,
			name: `Drop ${randomUUID().slice(0, 6)}`,
			sentOn: opts.sentOn ?? '2025-01-10',
			status: opts.status ?? 'completed',
			fileName: 'drop.csv',
			fileBytes: 100,
			delimiter: ',',
			headers: opts.headers ?? ['phone'],
			recipientCount: opts.recipients?.length ?? 0
		})
		.returning();
	const people = opts.recipients ?? [];
	const codes = generateTrackingCodes(people.length);
	const ids = people.map(() => randomUUID());
	if (people.length) {
		await db.insert(recipient).values(
			people.map((p, i) => ({
				id: ids[i],
				tenantId: c.tenantId,
				campaignId: c.id,
				createdDropId: drop.id,
				trackingCode: codes[i],
				phoneE164: p.phone,
				firstName: p.firstName ?? null,
				customerId: p.customerId ?? null
			}))
		);
		await db.insert(recipientDrop).values(ids.map((recipientId, i) => ({ tenantId: c.tenantId, dropId: drop.id, recipientId, line: i + 2 })));
	}
	return { ...drop, trackingCodes: codes, recipientIds: ids };
}
