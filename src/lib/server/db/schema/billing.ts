import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, check, index, integer, numeric, pgSequence, pgTable, text, timestamp, unique, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { elevenlabsConnection } from './ingest';
import { tenant } from './tenants';

// Usage and finance (issue 14): what a tenant is charged (billing rules, versioned), what its calls cost us (upstream
// credit rates per connection, telephony rates per number), and the monthly statements that freeze both.
// Money is numeric, exact; TypeScript sees decimal text. Statements and their lines are immutable in the database
// itself (migrations/*_statement_immutability.sql): see services/finance/statements.ts for the reopen door.

export const BILLING_ROUNDINGS = ['per_second', 'per_minute', 'per_n_seconds'] as const;
export type BillingRounding = (typeof BILLING_ROUNDINGS)[number];

/**
 * One version of a tenant's billing rule. An edit inserts the next version; rows are never updated (a trigger says
 * so). The rule for month M is the highest version whose effectiveFrom is M or earlier.
 */
export const billingRule = pgTable(
	'billing_rule',
	{
		id: uuid().primaryKey().defaultRandom(),
		tenantId: uuid()
			.notNull()
			.references(() => tenant.id, { onDelete: 'restrict' }),
		version: integer().notNull(),
		/** First month (YYYY-MM, the tenant's calendar) this version applies to. */
		effectiveFrom: text().notNull(),
		rounding: text({ enum: BILLING_ROUNDINGS }).notNull(),
		/** The unit calls round up to: 1 per second, 60 per minute, N for "per call up to N seconds". */
		roundingSecs: integer().notNull(),
		minBillableSecs: integer().notNull().default(0),
		/** Whether failed / unanswered calls (status failed) are billed like connected ones. */
		countFailedCalls: boolean().notNull().default(false),
		includedMinutes: integer().notNull().default(0),
		pricePerMinute: numeric({ precision: 18, scale: 6 }).notNull(),
		/** Charged per conversion once conversions exist (attribution issue); kept on the rule now. */
		pricePerConversion: numeric({ precision: 18, scale: 6 }).notNull().default('0'),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		createdBy: text().notNull()
	},
	(t) => [
		unique('billing_rule_tenant_id_version_key').on(t.tenantId, t.version),
		index('billing_rule_tenant_id_effective_from_idx').on(t.tenantId, t.effectiveFrom),
		check('billing_rule_rounding_secs_chk', sql`${t.roundingSecs} between 1 and 86400`),
		check('billing_rule_amounts_chk', sql`${t.minBillableSecs} >= 0 and ${t.includedMinutes} >= 0 and ${t.pricePerMinute} >= 0 and ${t.pricePerConversion} >= 0`)
	]
);

/** What one ElevenLabs credit costs us on a connection (its plan). No row: credits cost 0 (shown as unpriced). */
export const upstreamCreditRate = pgTable('upstream_credit_rate', {
	connectionId: uuid()
		.primaryKey()
		.references(() => elevenlabsConnection.id, { onDelete: 'cascade' }),
	perCredit: numeric({ precision: 18, scale: 9 }).notNull(),
	updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
});

/**
 * Telephony cost per started minute of a call, by the number that carried it (E.164, conversation.agent_number).
 * tenantId null: a platform-wide rate; phoneNumber null: the default for the tenant (or the platform). The most
 * specific row wins: (tenant, number), (platform, number), (tenant, default), (platform, default).
 */
export const telephonyRate = pgTable(
	'telephony_rate',
	{
		id: uuid().primaryKey().defaultRandom(),
		tenantId: uuid().references(() => tenant.id, { onDelete: 'cascade' }),
		phoneNumber: text(),
		perMinute: numeric({ precision: 18, scale: 6 }).notNull(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [unique('telephony_rate_tenant_id_phone_number_key').on(t.tenantId, t.phoneNumber).nullsNotDistinct()]
);

export const STATEMENT_STATUSES = ['closed', 'reopened'] as const;
export type StatementStatus = (typeof STATEMENT_STATUSES)[number];

/** Statement numbers are global and never reused, whatever happens to the statement later. */
export const statementNumberSeq = pgSequence('statement_number_seq', { startWith: 1001 });

/**
 * One tenant's closed month. Written once, in the transaction that closes it, with its lines; afterwards only the
 * audited reopen (status closed → reopened, with who, when and why) may touch it, and nothing may delete it.
 */
export const statement = pgTable(
	'statement',
	{
		id: uuid().primaryKey().defaultRandom(),
		number: bigint({ mode: 'number' })
			.notNull()
			.default(sql`nextval('statement_number_seq')`),
		tenantId: uuid()
			.notNull()
			.references(() => tenant.id, { onDelete: 'restrict' }),
		/** YYYY-MM in the tenant's timezone at close. */
		period: text().notNull(),
		periodStart: timestamp({ withTimezone: true }).notNull(),
		periodEnd: timestamp({ withTimezone: true }).notNull(),
		timezone: text().notNull(),
		ruleId: uuid()
			.notNull()
			.references(() => billingRule.id, { onDelete: 'restrict' }),
		ruleVersion: integer().notNull(),
		status: text({ enum: STATEMENT_STATUSES }).notNull().default('closed'),
		calls: integer().notNull(),
		connectedSecs: bigint({ mode: 'number' }).notNull(),
		billableSecs: bigint({ mode: 'number' }).notNull(),
		includedSecs: bigint({ mode: 'number' }).notNull(),
		chargeableSecs: bigint({ mode: 'number' }).notNull(),
		upstreamCost: numeric({ precision: 18, scale: 6 }).notNull(),
		telephonyCost: numeric({ precision: 18, scale: 6 }).notNull(),
		/** This month's usage, the sum of its usage lines' prices. */
		usagePrice: numeric({ precision: 18, scale: 2 }).notNull(),
		/** Corrections of earlier closed months, the sum of its adjustment lines' prices. */
		adjustmentsPrice: numeric({ precision: 18, scale: 2 }).notNull(),
		totalPrice: numeric({ precision: 18, scale: 2 }).notNull(),
		closedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		closedBy: text().notNull(),
		reopenedAt: timestamp({ withTimezone: true }),
		reopenedBy: text(),
		reopenReason: text()
	},
	(t) => [
		uniqueIndex('statement_number_idx').on(t.number),
		// One closed statement per tenant and month; reopened ones stay beside it as history.
		uniqueIndex('statement_tenant_id_period_closed_idx').on(t.tenantId, t.period).where(sql`${t.status} = 'closed'`),
		index('statement_tenant_id_period_idx').on(t.tenantId, t.period)
	]
);

export const STATEMENT_LINE_KINDS = ['usage', 'adjustment'] as const;
export type StatementLineKind = (typeof STATEMENT_LINE_KINDS)[number];

/**
 * A statement's lines: usage per agent for its own month, and adjustments (the difference between what an earlier
 * closed month said and what the data says now). campaignId is for the per-campaign breakdown (attribution issue):
 * null until then, the grouping gains that column without reshaping the table.
 */
export const statementLine = pgTable(
	'statement_line',
	{
		id: bigserial({ mode: 'number' }).primaryKey(),
		statementId: uuid()
			.notNull()
			.references(() => statement.id, { onDelete: 'restrict' }),
		kind: text({ enum: STATEMENT_LINE_KINDS }).notNull(),
		agentId: text(),
		campaignId: uuid(),
		/** For an adjustment: the month it corrects and that month's statement. */
		correctsPeriod: text(),
		correctsStatementId: uuid().references(() => statement.id, { onDelete: 'restrict' }),
		calls: integer().notNull(),
		connectedSecs: bigint({ mode: 'number' }).notNull(),
		billableSecs: bigint({ mode: 'number' }).notNull(),
		chargeableSecs: bigint({ mode: 'number' }).notNull(),
		upstreamCost: numeric({ precision: 18, scale: 6 }).notNull(),
		telephonyCost: numeric({ precision: 18, scale: 6 }).notNull(),
		price: numeric({ precision: 18, scale: 2 }).notNull()
	},
	(t) => [index('statement_line_statement_id_idx').on(t.statementId), index('statement_line_corrects_statement_id_idx').on(t.correctsStatementId)]
);
