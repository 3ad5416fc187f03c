import { and, getTableColumns, inArray, isNull, sql } from 'drizzle-orm';
import { toSnakeCase } from 'drizzle-orm/casing';
import { afterCommit, anyOf, inTransaction, multiRowInsert, unsafeQuery, type DbOrTx, type Tx } from '../db/client';
import { OUTBOX_CHANNEL } from '../db/channels';
import { LOCK_IDS } from '../db/locks';
import { conversation, elevenlabsAgent, elevenlabsConnection } from '../db/schema/ingest';
import type { IngestCtx } from './context';
import { CALL_EVENTS_TABLE, type CallEventRow } from '../analytics/tables';
import { applySnapshot, blankConversationRow, finishChange, rowsDiffer, type ConversationRow } from './merge';
import type { ConversationSnapshot } from './snapshot';

// The one write path for conversations, used by the webhook processor, the polling sync and quarantine release.
// Per batch: lock the conversation ids (advisory, in one fixed order, so concurrent writers never deadlock and a
// not-yet-existing row is covered too), read them, fold every snapshot in memory, then write all changed rows,
// their outbox rows and the agents first seen, in a handful of statements of the caller's transaction.


export interface UpsertResult {
	created: number;
	updated: number;
	unchanged: number;
	/** Conversations of this batch now waiting for their agent to be mapped. */
	quarantined: number;
	events: number;
}

async function lockConversationIds(tx: Tx, ids: string[]): Promise<void> {
	await tx.execute(sql`
		select pg_advisory_xact_lock(${LOCK_IDS.conversation}, h)
		from (select distinct hashtext(x) as h from unnest(${sql.param(ids)}::text[]) x order by 1) s`);
}

type AgentKey = `${string}\u0000${string}`;
const agentKey = (connectionId: string, agentId: string): AgentKey => `${connectionId}\u0000${agentId}`;

/**
 * The tenant each (connection, agent) resolves to: the agent's mapping, else the connection's own tenant (a
 * per-tenant connection), else null (quarantine). Registers agents seen for the first time, unmapped.
 */
async function resolveAgentTenants(tx: Tx, pairs: Map<AgentKey, { connectionId: string; agentId: string; name?: string | null }>) {
	const result = new Map<AgentKey, string | null>();
	if (pairs.size === 0) return result;
	const connectionIds = [...new Set([...pairs.values()].map((p) => p.connectionId))];
	const agentIds = [...new Set([...pairs.values()].map((p) => p.agentId))];
	const [agents, connections] = await Promise.all([
		tx
			.select({ connectionId: elevenlabsAgent.connectionId, agentId: elevenlabsAgent.agentId, tenantId: elevenlabsAgent.tenantId })
			.from(elevenlabsAgent)
			.where(and(inArray(elevenlabsAgent.connectionId, connectionIds), inArray(elevenlabsAgent.agentId, agentIds))),
		tx
			.select({ id: elevenlabsConnection.id, tenantId: elevenlabsConnection.tenantId })
			.from(elevenlabsConnection)
			.where(inArray(elevenlabsConnection.id, connectionIds))
	]);
	const known = new Map(agents.map((a) => [agentKey(a.connectionId, a.agentId), a.tenantId]));
	const connectionTenant = new Map(connections.map((c) => [c.id, c.tenantId]));
	const unseen: (typeof elevenlabsAgent.$inferInsert)[] = [];
	for (const [key, p] of pairs) {
		if (!known.has(key)) unseen.push({ connectionId: p.connectionId, agentId: p.agentId, name: p.name ?? null });
		result.set(key, known.get(key) ?? connectionTenant.get(p.connectionId) ?? null);
	}
	if (unseen.length > 0) await tx.insert(elevenlabsAgent).values(unseen).onConflictDoNothing();
	return result;
}

// Rows travel as one multi-row INSERT with one typed parameter per value, its text built here (cached per batch
// size) and run on the transaction's own connection. Measured against the alternatives: drizzle's builder spent more
// CPU per parameter than the database did, and json_populate_recordset (all rows as one JSON document) made
// PostgreSQL parse every ~3 KB details document twice, its largest cost per stored conversation.
const CONVERSATION_COLUMNS = Object.entries(getTableColumns(conversation)).map(([key, col]) => ({
	key: key as keyof ConversationRow,
	column: toSnakeCase(key),
	type: col.getSQLType()
}));
const JSON_TYPES = new Set(['json', 'jsonb']);
// Every column but the key is overwritten from the proposed row: safe because the ids are locked.
const conversationConflict = `on conflict (conversation_id) do update set ${CONVERSATION_COLUMNS.filter((c) => c.key !== 'id' && c.key !== 'conversationId' && c.key !== 'createdAt')
	.map((c) => `${c.column} = excluded.${c.column}`)
	.join(', ')}`;
const conversationInsertText = multiRowInsert('conversation', CONVERSATION_COLUMNS, conversationConflict);
/** At most this many rows per statement (PostgreSQL takes up to 65,535 parameters; a row takes one per column). */
const INSERT_CHUNK = 1000;

/** JSON text for a jsonb parameter: jsonb cannot hold U+0000, which upstream text may contain; it is dropped. */
export function jsonbText(value: unknown): string {
	const text = JSON.stringify(value);
	// The scan is for the rare text that has one: the regular expression costs more than the stringify.
	return text.includes('\\u0000') ? text.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1') : text;
}

/**
 * A column value as a parameter: JSON and times as text (drizzle turns off postgres.js's own date serializers), and
 * no U+0000 in text (PostgreSQL text cannot hold it).
 */
function parameter(value: unknown, type: string): unknown {
	if (value === null || value === undefined) return null;
	if (JSON_TYPES.has(type)) return jsonbText(value);
	if (value instanceof Date) return value.toISOString();
	if (typeof value === 'string' && value.includes('\u0000')) return value.replaceAll('\u0000', '');
	return value;
}

async function insertConversations(tx: Tx, rows: ConversationRow[]): Promise<void> {
	for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
		const chunk = rows.slice(i, i + INSERT_CHUNK);
		const params: unknown[] = [];
		for (const row of chunk) for (const c of CONVERSATION_COLUMNS) params.push(parameter(row[c.key], c.type));
		await unsafeQuery(tx, conversationInsertText(chunk.length), params);
	}
}

async function writeChanges(tx: Tx, rows: ConversationRow[], events: { event: CallEventRow; connectionId: string }[]) {
	if (rows.length > 0) {
		await insertConversations(tx, rows);
	}
	if (events.length > 0) {
		const records = events.map(({ event, connectionId }) => ({ event_id: event.event_id, target: CALL_EVENTS_TABLE, payload: event, connection_id: connectionId }));
		// A deterministic id already queued is the same row: keep the first.
		await tx.execute(sql`
			insert into outbox (event_id, target, payload, connection_id)
			select event_id, target, payload, connection_id
			from jsonb_to_recordset(${jsonbText(records)}::jsonb) as x(event_id text, target text, payload jsonb, connection_id uuid)
			on conflict (event_id) do nothing`);
		afterCommit(tx, wakeRelay);
	}
}

/**
 * Wakes the relay (LISTEN on OUTBOX_CHANNEL) once new outbox rows are committed (writeChanges registers it with
 * afterCommit). Sent after the commit, never inside the writing transaction: PostgreSQL holds one database-wide lock from a notifying transaction's pre-commit until
 * its commit is flushed, so a NOTIFY in every write transaction made the webhook inbox's commits queue behind the
 * processor's. Without the wake-up the relay still finds the rows at its next poll.
 */
export async function wakeRelay(db: DbOrTx): Promise<void> {
	await db.execute(sql`select pg_notify(${OUTBOX_CHANNEL}, '')`);
}

/**
 * Applies snapshots (in the order given) to their conversations: one row per conversation_id, status only moving
 * forward, version bumped once per batch that changes the row, retraction + fact queued in the outbox.
 */
export async function upsertConversationSnapshots({
	ctx,
	input
}: {
	ctx: IngestCtx;
	input: { snapshots: ConversationSnapshot[]; now?: Date };
}): Promise<UpsertResult> {
	const { snapshots } = input;
	const result: UpsertResult = { created: 0, updated: 0, unchanged: 0, quarantined: 0, events: 0 };
	if (snapshots.length === 0) return result;
	const now = input.now ?? new Date();
	return inTransaction(ctx.db, async (tx) => {
		const ids = [...new Set(snapshots.map((s) => s.conversationId))];
		await lockConversationIds(tx, ids);
		const existing = new Map<string, ConversationRow>();
		for (let i = 0; i < ids.length; i += 1000) {
			const rows = await tx.select().from(conversation).where(anyOf(conversation.conversationId, ids.slice(i, i + 1000), 'text'));
			for (const r of rows) existing.set(r.conversationId, r);
		}

		const working = new Map<string, ConversationRow>();
		const pairs = new Map<AgentKey, { connectionId: string; agentId: string; name?: string | null }>();
		for (const snap of snapshots) {
			const base = working.get(snap.conversationId) ?? existing.get(snap.conversationId) ?? blankConversationRow(snap, now);
			working.set(snap.conversationId, applySnapshot(base, snap));
			const row = working.get(snap.conversationId)!;
			const key = agentKey(row.connectionId, row.agentId);
			if (!pairs.has(key) || snap.agentName) pairs.set(key, { connectionId: row.connectionId, agentId: row.agentId, name: snap.agentName });
		}
		const tenants = await resolveAgentTenants(tx, pairs);

		const changed: ConversationRow[] = [];
		const events: { event: CallEventRow; connectionId: string }[] = [];
		for (const [id, proposed] of working) {
			const before = existing.get(id);
			let row = proposed;
			if (row.tenantId === null) {
				const tenantId = tenants.get(agentKey(row.connectionId, row.agentId)) ?? null;
				row = tenantId ? { ...row, tenantId, quarantinedAt: null } : { ...row, quarantinedAt: row.quarantinedAt ?? now };
			}
			if (before && !rowsDiffer(before, row)) {
				result.unchanged++;
				continue;
			}
			const done = finishChange(row, now);
			changed.push(done.row);
			for (const event of done.events) events.push({ event, connectionId: done.row.connectionId });
			if (before) result.updated++;
			else result.created++;
			if (done.row.tenantId === null) result.quarantined++;
		}
		result.events = events.length;
		await writeChanges(tx, changed, events);
		return result;
	});
}

/**
 * Gives the quarantined conversations among `ids` whose agent (or connection) now resolves to a tenant that
 * tenant, and queues their facts, inside the caller's transaction. Which conversations to try is the quarantine
 * service's choice (services/quarantine); this is the write path's part. Returns how many it released.
 */
export async function releaseConversationsToTheirTenants(tx: Tx, ids: string[], now = new Date()): Promise<number> {
	if (ids.length === 0) return 0;
	await lockConversationIds(tx, ids);
	// Re-read under the lock: another writer may have released some meanwhile.
	const rows = await tx
		.select()
		.from(conversation)
		.where(and(anyOf(conversation.conversationId, ids, 'text'), isNull(conversation.tenantId)));
	const pairs = new Map(rows.map((r) => [agentKey(r.connectionId, r.agentId), { connectionId: r.connectionId, agentId: r.agentId }]));
	const tenants = await resolveAgentTenants(tx, pairs);
	const changed: ConversationRow[] = [];
	const events: { event: CallEventRow; connectionId: string }[] = [];
	for (const r of rows) {
		const tenantId = tenants.get(agentKey(r.connectionId, r.agentId));
		if (!tenantId) continue;
		const done = finishChange({ ...r, tenantId, quarantinedAt: null }, now);
		changed.push(done.row);
		for (const event of done.events) events.push({ event, connectionId: r.connectionId });
	}
	await writeChanges(tx, changed, events);
	return changed.length;
}
