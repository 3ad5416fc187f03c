import { resolve } from 'node:path';
import { z } from 'zod';
import { isIsoDay } from '../../../days';
import { CAMPAIGN_CHANNELS, CAMPAIGN_STATUSES, RECIPIENT_FIELDS } from '../../db/schema/index';
import { env } from '../../env';
import { RECIPIENT_IMPORT_JOB_OPTIONS } from '../../jobs/boss';
import { enqueueJob } from '../../jobs/enqueue';
import { createCampaign, getCampaign, listCampaigns, listRecipients, updateCampaign } from '../../services/campaigns/index';
import { cancelMailDropImport, getMailDrop, startMailDropImport } from '../../services/campaigns/drops';
import { getCampaignFunnel } from '../../services/campaigns/funnel';
import { router, tenantProcedure } from '../init';

const isoDay = z.string().refine(isIsoDay, { message: 'expected a date as YYYY-MM-DD' });
const optionalText = (max: number) =>
	z
		.string()
		.trim()
		.max(max)
		.transform((v) => (v === '' ? null : v))
		.nullable();
const landingUrl = z
	.string()
	.trim()
	.max(2000)
	.transform((v) => (v === '' ? null : v))
	.nullable()
	.refine((v) => v === null || /^https?:\/\/[^\s/]+/i.test(v), { message: 'expected an http(s) URL, e.g. https://example.com/offer' })
	.refine((v) => v === null || URL.canParse(v), { message: 'expected an http(s) URL, e.g. https://example.com/offer' });

const campaignFields = {
	name: z.string().trim().min(1, 'Give the campaign a name').max(120),
	channel: z.enum(CAMPAIGN_CHANNELS),
	status: z.enum(CAMPAIGN_STATUSES),
	startDate: isoDay.nullable(),
	endDate: isoDay.nullable(),
	landingUrl,
	utmSource: optionalText(100),
	utmMedium: optionalText(100),
	utmCampaign: optionalText(100),
	attributionWindowDays: z.number().int().min(1).max(3650),
	notes: z.string().max(5000),
	trackingNumbers: z.array(z.string().trim().max(40)).max(50)
};

const createCampaignInput = z.object({ ...campaignFields }).partial().required({ name: true, channel: true });
const updateCampaignInput = z.object({ campaignId: z.uuid(), ...campaignFields }).partial().required({ campaignId: true });
const getCampaignInput = z.object({ campaignId: z.uuid() });
const listCampaignsInput = z
	.object({
		search: z.string().trim().max(100).optional(),
		status: z.enum(CAMPAIGN_STATUSES).optional(),
		page: z.number().int().min(1).max(100_000).default(1),
		pageSize: z.number().int().min(1).max(200).default(25)
	})
	.default({ page: 1, pageSize: 25 });
const listRecipientsInput = z.object({
	campaignId: z.uuid(),
	dropId: z.uuid().optional(),
	search: z.string().trim().max(100).optional(),
	page: z.number().int().min(1).max(100_000).default(1),
	pageSize: z.number().int().min(1).max(200).default(50)
});
const dropInput = z.object({ dropId: z.uuid() });
// Local days in the tenant's timezone; the service defaults the range (last 90 days) and checks its span (BAD_INPUT).
const campaignFunnelInput = z.object({ campaignId: z.uuid(), from: isoDay.optional(), to: isoDay.optional() });
const columnIndex = z.number().int().min(0).max(1000);
const startImportInput = z.object({
	dropId: z.uuid(),
	mapping: z.object(Object.fromEntries(RECIPIENT_FIELDS.map((f) => [f, columnIndex.optional()])) as Record<(typeof RECIPIENT_FIELDS)[number], z.ZodOptional<typeof columnIndex>>),
	sentOn: isoDay.optional(),
	name: z.string().trim().max(120).optional()
});

const storageDir = () => resolve(env().UPLOAD_STORAGE_DIR);

export const campaignsRouter = router({
	list: tenantProcedure('tenant:read')
		.input(listCampaignsInput)
		.query(({ ctx, input }) => listCampaigns({ ctx, input })),
	get: tenantProcedure('tenant:read')
		.input(getCampaignInput)
		.query(({ ctx, input }) => getCampaign({ ctx, input })),
	create: tenantProcedure('campaigns:write')
		.input(createCampaignInput)
		.mutation(({ ctx, input }) => createCampaign({ ctx, input })),
	update: tenantProcedure('campaigns:write')
		.input(updateCampaignInput)
		.mutation(({ ctx, input }) => updateCampaign({ ctx, input })),
	funnel: tenantProcedure('tenant:read')
		.input(campaignFunnelInput)
		.query(({ ctx, input }) => getCampaignFunnel({ ctx, input })),
	recipients: tenantProcedure('tenant:read')
		.input(listRecipientsInput)
		.query(({ ctx, input }) => listRecipients({ ctx, input })),
	drops: router({
		get: tenantProcedure('tenant:read')
			.input(dropInput)
			.query(({ ctx, input }) => getMailDrop({ ctx, input, storageDir: storageDir() })),
		startImport: tenantProcedure('campaigns:write')
			.input(startImportInput)
			.mutation(({ ctx, input }) =>
				startMailDropImport({
					ctx,
					input,
					enqueue: (db, dropId) => enqueueJob(db, 'recipients.import', { dropId }, RECIPIENT_IMPORT_JOB_OPTIONS(dropId))
				})
			),
		cancelImport: tenantProcedure('campaigns:write')
			.input(dropInput)
			.mutation(({ ctx, input }) => cancelMailDropImport({ ctx, input, storageDir: storageDir() }))
	})
});
