import { eq, sql } from 'drizzle-orm';
import { inTransaction, type DbOrTx } from '../../db/client';
import { platformSetting } from '../../db/schema/index';
import { assertPlatformActor } from '../context';
import { recordAudit } from '../audit/index';
import type { ServiceCtx } from '../context';

// Platform-wide switches, one row per key. Absent rows read as the default.

export interface PlatformSettings {
	/** Tenant admins may edit their own tenant's agents (platform admins always may). */
	tenantAdminsManageAgents: boolean;
}

const DEFAULTS: PlatformSettings = { tenantAdminsManageAgents: false };

export async function readPlatformSettings(db: DbOrTx): Promise<PlatformSettings> {
	const rows = await db.select().from(platformSetting);
	const out: PlatformSettings = { ...DEFAULTS };
	for (const r of rows) if (r.key in DEFAULTS) (out as unknown as Record<string, unknown>)[r.key] = r.value;
	return out;
}

export async function getPlatformSettings({ ctx }: { ctx: ServiceCtx }): Promise<PlatformSettings> {
	return readPlatformSettings(ctx.db);
}

export async function updatePlatformSettings({ ctx, input }: { ctx: ServiceCtx; input: Partial<PlatformSettings> }): Promise<PlatformSettings> {
	assertPlatformActor(ctx.actor);
	return inTransaction(ctx.db, async (tx) => {
		const before = await readPlatformSettings(tx);
		for (const [key, value] of Object.entries(input)) {
			if (!(key in DEFAULTS) || value === undefined) continue;
			await tx
				.insert(platformSetting)
				.values({ key, value })
				.onConflictDoUpdate({ target: platformSetting.key, set: { value, updatedAt: sql`now()` } });
		}
		const after = await readPlatformSettings(tx);
		await recordAudit(tx, ctx, { tenantId: null, action: 'platform.settings_update', targetType: 'platform_setting', before: { ...before }, after: { ...after } });
		return after;
	});
}

export async function tenantAdminsMayManageAgents(db: DbOrTx): Promise<boolean> {
	const [row] = await db.select().from(platformSetting).where(eq(platformSetting.key, 'tenantAdminsManageAgents'));
	return row?.value === true;
}
