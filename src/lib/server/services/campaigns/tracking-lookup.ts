import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { campaign, mailDrop, recipient, type CampaignChannel, type CampaignStatus } from '../../db/schema/index';
import { normaliseTrackingCode } from './tracking-code';

export interface TrackedRecipient {
	recipientId: string;
	trackingCode: string;
	tenantId: string;
	campaignId: string;
	campaignName: string;
	campaignChannel: CampaignChannel;
	campaignStatus: CampaignStatus;
	landingUrl: string | null;
	utmSource: string | null;
	utmMedium: string | null;
	utmCampaign: string | null;
}

/**
 * The recipient a public tracking code names, with its campaign, or null when the code is malformed, unknown,
 * or belongs to an import that has not completed (a drop still importing, failed or cancelled is invisible).
 * The tenant comes from here, never from the request.
 */
export async function findTrackedRecipient(db: DbOrTx, rawCode: string): Promise<TrackedRecipient | null> {
	const code = normaliseTrackingCode(rawCode);
	if (!code) return null;
	const rows = await db
		.select({
			recipientId: recipient.id,
			trackingCode: recipient.trackingCode,
			tenantId: recipient.tenantId,
			campaignId: campaign.id,
			campaignName: campaign.name,
			campaignChannel: campaign.channel,
			campaignStatus: campaign.status,
			landingUrl: campaign.landingUrl,
			utmSource: campaign.utmSource,
			utmMedium: campaign.utmMedium,
			utmCampaign: campaign.utmCampaign
		})
		.from(recipient)
		.innerJoin(mailDrop, and(eq(mailDrop.id, recipient.createdDropId), eq(mailDrop.status, 'completed')))
		.innerJoin(campaign, eq(campaign.id, recipient.campaignId))
		.where(eq(recipient.trackingCode, code))
		.limit(1);
	return rows[0] ?? null;
}
