import { and, asc, count, desc, eq, ilike, or, sql, type SQL } from 'drizzle-orm';
import { daysBetween } from '../../../days';
import { inTransaction, type DbOrTx } from '../../db/client';
import {
	campaign,
	campaignTrackingNumber,
	mailDrop,
	recipient,
	recipientDrop,
	type CampaignChannel,
	type CampaignStatus,
	type MailDropStatus
} from '../../db/schema/index';
import { DomainError } from '../../errors';
import { recordAudit } from '../audit/index';
import type { TenantServiceCtx } from '../context';
import { fetchTenantOwnedOrThrow } from '../scoped';
import { normalisePhone } from './phone';

// Campaigns of a tenant: the marketer's unit of "where did this call come from". Writes are audited in the same
// transaction; reads count only recipients of completed drops (see schema/campaigns.ts).

export const DEFAULT_ATTRIBUTION_WINDOW_DAYS = 60;

export interface CampaignFields {
	name: string;
	channel: CampaignChannel;
	status: CampaignStatus;
	startDate: string | null;
	endDate: string | null;
	landingUrl: string | null;
	utmSource: string | null;
	utmMedium: string | null;
	utmCampaign: string | null;
	attributionWindowDays: number;
	notes: string;
	/** As the user typed them; stored as E.164 read with the tenant's default country. */
	trackingNumbers: string[];
}

export type CreateCampaignInput = Pick<CampaignFields, 'name' | 'channel'> & Partial<Omit<CampaignFields, 'name' | 'channel'>>;
export type UpdateCampaignInput = { campaignId: string } & Partial<CampaignFields>;

export interface CampaignDetail extends Omit<CampaignFields, 'trackingNumbers'> {
	id: string;
	trackingNumbers: string[];
	createdAt: Date;
	updatedAt: Date;
	/** Unique recipients over the campaign's completed drops. */
	recipients: number;
	drops: DropSummary[];
}

export interface DropSummary {
	id: string;
	name: string;
	sentOn: string;
	status: MailDropStatus;
	fileName: string;
	fileBytes: number;
	bytesRead: number;
	rowsRead: number;
	rowsImported: number;
	rowsMerged: number;
	rowsRejected: number;
	recipientCount: number;
	errorMessage: string | null;
	createdAt: Date;
	startedAt: Date | null;
	finishedAt: Date | null;
	cancelRequestedAt: Date | null;
}

export const dropSummaryColumns = {
	id: mailDrop.id,
	name: mailDrop.name,
	sentOn: mailDrop.sentOn,
	status: mailDrop.status,
	fileName: mailDrop.fileName,
	fileBytes: mailDrop.fileBytes,
	bytesRead: mailDrop.bytesRead,
	rowsRead: mailDrop.rowsRead,
	rowsImported: mailDrop.rowsImported,
	rowsMerged: mailDrop.rowsMerged,
	rowsRejected: mailDrop.rowsRejected,
	recipientCount: mailDrop.recipientCount,
	errorMessage: mailDrop.errorMessage,
	createdAt: mailDrop.createdAt,
	startedAt: mailDrop.startedAt,
	finishedAt: mailDrop.finishedAt,
	cancelRequestedAt: mailDrop.cancelRequestedAt
};

function escapeLike(s: string) {
	return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The campaign row of the caller's tenant, or NOT_FOUND (also for another tenant's id). */
export function fetchCampaignOrThrow(db: DbOrTx, tenantId: string, campaignId: string, opts: { forUpdate?: boolean } = {}) {
	return fetchTenantOwnedOrThrow(db, campaign, tenantId, eq(campaign.id, campaignId), 'Campaign', opts);
}

function normaliseTrackingNumbers(raw: string[], country: string): string[] {
	const out = new Set<string>();
	for (const r of raw) {
		if (r.trim() === '') continue;
		const p = normalisePhone(r, country);
		if (!p.ok) throw new DomainError('BAD_INPUT', `Tracking number ${p.reason}`, { field: 'trackingNumbers' });
		out.add(p.e164);
	}
	return [...out].sort();
}

function checkDates(startDate: string | null, endDate: string | null) {
	if (startDate && endDate && daysBetween(startDate, endDate) < 0) {
		throw new DomainError('BAD_INPUT', `The campaign ends (${endDate}) before it starts (${startDate})`, { field: 'endDate' });
	}
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
	const e = err as { code?: string; constraint_name?: string; cause?: unknown };
	if (e?.code === '23505' && e.constraint_name === constraint) return true;
	return e?.cause !== undefined && isUniqueViolation(e.cause, constraint);
}

async function withNameConflict<T>(name: string, fn: () => Promise<T>): Promise<T> {
	try {
		return await fn();
	} catch (err) {
		if (isUniqueViolation(err, 'campaign_tenant_id_name_idx')) throw new DomainError('CONFLICT', `A campaign named "${name}" already exists`, { field: 'name' });
		throw err;
	}
}

/** Checked before writing so the common case fails cleanly (a unique violation would abort an outer transaction). */
async function assertNameFree(tx: DbOrTx, tenantId: string, name: string, exceptId?: string) {
	const [taken] = await tx
		.select({ id: campaign.id })
		.from(campaign)
		.where(and(eq(campaign.tenantId, tenantId), sql`lower(${campaign.name}) = lower(${name})`, exceptId ? sql`${campaign.id} <> ${exceptId}` : undefined))
		.limit(1);
	if (taken) throw new DomainError('CONFLICT', `A campaign named "${name}" already exists`, { field: 'name' });
}

async function readTrackingNumbers(db: DbOrTx, campaignId: string): Promise<string[]> {
	const rows = await db
		.select({ phone: campaignTrackingNumber.phoneE164 })
		.from(campaignTrackingNumber)
		.where(eq(campaignTrackingNumber.campaignId, campaignId))
		.orderBy(asc(campaignTrackingNumber.phoneE164));
	return rows.map((r) => r.phone);
}

async function replaceTrackingNumbers(tx: DbOrTx, tenantId: string, campaignId: string, numbers: string[]) {
	await tx.delete(campaignTrackingNumber).where(eq(campaignTrackingNumber.campaignId, campaignId));
	if (numbers.length) await tx.insert(campaignTrackingNumber).values(numbers.map((phoneE164) => ({ tenantId, campaignId, phoneE164 })));
}

/** The audited picture of a campaign: every field a marketer edits. */
function auditView(row: typeof campaign.$inferSelect, trackingNumbers: string[]): Record<string, unknown> {
	return {
		name: row.name,
		channel: row.channel,
		status: row.status,
		startDate: row.startDate,
		endDate: row.endDate,
		landingUrl: row.landingUrl,
		utmSource: row.utmSource,
		utmMedium: row.utmMedium,
		utmCampaign: row.utmCampaign,
		attributionWindowDays: row.attributionWindowDays,
		notes: row.notes,
		trackingNumbers
	};
}

export async function createCampaign({ ctx, input }: { ctx: TenantServiceCtx; input: CreateCampaignInput }): Promise<CampaignDetail> {
	const trackingNumbers = normaliseTrackingNumbers(input.trackingNumbers ?? [], ctx.tenant.defaultCountry);
	checkDates(input.startDate ?? null, input.endDate ?? null);
	const id = await withNameConflict(input.name, () =>
		inTransaction(ctx.db, async (tx) => {
			await assertNameFree(tx, ctx.tenant.id, input.name);
			const [row] = await tx
				.insert(campaign)
				.values({
					tenantId: ctx.tenant.id,
					name: input.name,
					channel: input.channel,
					status: input.status ?? 'draft',
					startDate: input.startDate ?? null,
					endDate: input.endDate ?? null,
					landingUrl: input.landingUrl ?? null,
					utmSource: input.utmSource ?? null,
					utmMedium: input.utmMedium ?? null,
					utmCampaign: input.utmCampaign ?? null,
					attributionWindowDays: input.attributionWindowDays ?? DEFAULT_ATTRIBUTION_WINDOW_DAYS,
					notes: input.notes ?? ''
				})
				.returning();
			await replaceTrackingNumbers(tx, ctx.tenant.id, row.id, trackingNumbers);
			await recordAudit(tx, ctx, {
				tenantId: ctx.tenant.id,
				action: 'campaign.create',
				targetType: 'campaign',
				targetId: row.id,
				before: null,
				after: auditView(row, trackingNumbers)
			});
			return row.id;
		})
	);
	return getCampaign({ ctx, input: { campaignId: id } });
}

export async function updateCampaign({ ctx, input }: { ctx: TenantServiceCtx; input: UpdateCampaignInput }): Promise<CampaignDetail> {
	const { campaignId, trackingNumbers: rawNumbers, ...fields } = input;
	const numbers = rawNumbers === undefined ? undefined : normaliseTrackingNumbers(rawNumbers, ctx.tenant.defaultCountry);
	await withNameConflict(input.name ?? '', () =>
		inTransaction(ctx.db, async (tx) => {
			const before = await fetchCampaignOrThrow(tx, ctx.tenant.id, campaignId, { forUpdate: true });
			const beforeNumbers = await readTrackingNumbers(tx, campaignId);
			const next = { ...before, ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) } as typeof before;
			checkDates(next.startDate, next.endDate);
			if (next.name !== before.name) await assertNameFree(tx, ctx.tenant.id, next.name, campaignId);
			const afterNumbers = numbers ?? beforeNumbers;
			const beforeView = auditView(before, beforeNumbers);
			const afterView = auditView(next, afterNumbers);
			if (JSON.stringify(beforeView) === JSON.stringify(afterView)) return;
			const [row] = await tx
				.update(campaign)
				.set({
					name: next.name,
					channel: next.channel,
					status: next.status,
					startDate: next.startDate,
					endDate: next.endDate,
					landingUrl: next.landingUrl,
					utmSource: next.utmSource,
					utmMedium: next.utmMedium,
					utmCampaign: next.utmCampaign,
					attributionWindowDays: next.attributionWindowDays,
					notes: next.notes,
					updatedAt: sql`now()`
				})
				.where(and(eq(campaign.tenantId, ctx.tenant.id), eq(campaign.id, campaignId)))
				.returning();
			if (numbers) await replaceTrackingNumbers(tx, ctx.tenant.id, campaignId, numbers);
			// Only what changed, so the audit log reads as a diff.
			const changed = Object.keys(afterView).filter((k) => JSON.stringify(beforeView[k]) !== JSON.stringify(afterView[k]));
			await recordAudit(tx, ctx, {
				tenantId: ctx.tenant.id,
				action: 'campaign.update',
				targetType: 'campaign',
				targetId: row.id,
				before: Object.fromEntries(changed.map((k) => [k, beforeView[k]])),
				after: Object.fromEntries(changed.map((k) => [k, afterView[k]]))
			});
		})
	);
	return getCampaign({ ctx, input: { campaignId } });
}

/** Recipients that count: created by a drop whose import completed. */
export function liveRecipientsOf(campaignId: SQL | string): SQL {
	return sql`${recipient.campaignId} = ${campaignId} and exists (select 1 from ${mailDrop} d where d.id = ${recipient.createdDropId} and d.status = 'completed')`;
}

export async function getCampaign({ ctx, input }: { ctx: TenantServiceCtx; input: { campaignId: string } }): Promise<CampaignDetail> {
	const row = await fetchCampaignOrThrow(ctx.db, ctx.tenant.id, input.campaignId);
	const [trackingNumbers, drops, [{ n }]] = await Promise.all([
		readTrackingNumbers(ctx.db, row.id),
		ctx.db
			.select(dropSummaryColumns)
			.from(mailDrop)
			.where(and(eq(mailDrop.tenantId, ctx.tenant.id), eq(mailDrop.campaignId, row.id)))
			.orderBy(desc(mailDrop.createdAt)),
		ctx.db.select({ n: count() }).from(recipient).where(and(eq(recipient.tenantId, ctx.tenant.id), liveRecipientsOf(row.id)))
	]);
	const { tenantId: _tenantId, ...fields } = row;
	return { ...fields, trackingNumbers, drops, recipients: n };
}

export interface ListCampaignsInput {
	search?: string;
	status?: CampaignStatus;
	page: number;
	pageSize: number;
}

export interface CampaignListRow {
	id: string;
	name: string;
	channel: CampaignChannel;
	status: CampaignStatus;
	startDate: string | null;
	endDate: string | null;
	drops: number;
	recipients: number;
	updatedAt: Date;
}

export async function listCampaigns({ ctx, input }: { ctx: TenantServiceCtx; input: ListCampaignsInput }) {
	const search = input.search?.trim();
	const where = and(
		eq(campaign.tenantId, ctx.tenant.id),
		input.status ? eq(campaign.status, input.status) : undefined,
		search ? or(ilike(campaign.name, `%${escapeLike(search)}%`), ilike(campaign.notes, `%${escapeLike(search)}%`)) : undefined
	);
	const [rows, [{ total }]] = await Promise.all([
		ctx.db
			.select({
				id: campaign.id,
				name: campaign.name,
				channel: campaign.channel,
				status: campaign.status,
				startDate: campaign.startDate,
				endDate: campaign.endDate,
				updatedAt: campaign.updatedAt,
				drops: sql<number>`(select count(*) from ${mailDrop} d where d.campaign_id = ${campaign.id} and d.status = 'completed')`.mapWith(Number),
				recipients: sql<number>`(select count(distinct rd.recipient_id) from ${recipientDrop} rd join ${mailDrop} d on d.id = rd.drop_id where d.campaign_id = ${campaign.id} and d.status = 'completed')`.mapWith(Number)
			})
			.from(campaign)
			.where(where)
			.orderBy(desc(campaign.createdAt), desc(campaign.id))
			.limit(input.pageSize)
			.offset((input.page - 1) * input.pageSize),
		ctx.db.select({ total: count() }).from(campaign).where(where)
	]);
	return { rows: rows as CampaignListRow[], total, page: input.page, pageSize: input.pageSize };
}

export interface ListRecipientsInput {
	campaignId: string;
	search?: string;
	dropId?: string;
	page: number;
	pageSize: number;
}

export async function listRecipients({ ctx, input }: { ctx: TenantServiceCtx; input: ListRecipientsInput }) {
	const c = await fetchCampaignOrThrow(ctx.db, ctx.tenant.id, input.campaignId);
	const search = input.search?.trim();
	const like = search ? `%${escapeLike(search)}%` : undefined;
	const where = and(
		eq(recipient.tenantId, ctx.tenant.id),
		liveRecipientsOf(c.id),
		input.dropId ? sql`exists (select 1 from ${recipientDrop} rd where rd.recipient_id = ${recipient.id} and rd.drop_id = ${input.dropId})` : undefined,
		like
			? or(
					ilike(recipient.phoneE164, like),
					ilike(recipient.firstName, like),
					ilike(recipient.lastName, like),
					ilike(recipient.email, like),
					ilike(recipient.postcode, like),
					ilike(recipient.customerId, like),
					ilike(recipient.trackingCode, like)
				)
			: undefined
	);
	const [rows, [{ total }]] = await Promise.all([
		ctx.db
			.select({
				id: recipient.id,
				trackingCode: recipient.trackingCode,
				phoneE164: recipient.phoneE164,
				firstName: recipient.firstName,
				lastName: recipient.lastName,
				email: recipient.email,
				address: recipient.address,
				postcode: recipient.postcode,
				customerId: recipient.customerId,
				drops: sql<number>`(select count(*) from ${recipientDrop} rd where rd.recipient_id = ${recipient.id})`.mapWith(Number)
			})
			.from(recipient)
			.where(where)
			.orderBy(asc(recipient.lastName), asc(recipient.firstName), asc(recipient.id))
			.limit(input.pageSize)
			.offset((input.page - 1) * input.pageSize),
		ctx.db.select({ total: count() }).from(recipient).where(where)
	]);
	return { rows, total, page: input.page, pageSize: input.pageSize };
}
