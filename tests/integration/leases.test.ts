import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDb, inTransaction, type DbHandle } from '../../src/lib/server/db/client';
import { LeaseLostError, withLease } from '../../src/lib/server/db/locks';
import { testEnv } from '../setup/test-env';

// Fenced leases against the real PostgreSQL: the lock holder's backend is terminated while it works; the holder must
// notice before its next unit of work, and a second contender takes over without any overlap of their work. Work
// intervals are stamped by the server (clock_timestamp() after the fence and at the end of each unit's transaction),
// so "no overlap" is judged on one clock.

// A lock id of this test run alone (the workers' own leases are not disturbed by other test files).
const LOCK_ID = 7_264_000 + Math.floor(Math.random() * 100_000);
const WORK = `lease_test_work_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const UNIT_MS = 150;

let a: DbHandle;
let b: DbHandle;
let admin: DbHandle;

beforeAll(async () => {
	const url = testEnv().DATABASE_URL;
	a = createDb(url, { max: 3, applicationName: 'lease-test-a' });
	b = createDb(url, { max: 3, applicationName: 'lease-test-b' });
	admin = createDb(url, { max: 1, applicationName: 'lease-test-admin' });
	await admin.sql.unsafe(`create table ${WORK} (id bigserial primary key, holder text not null, epoch bigint not null, started timestamptz not null, finished timestamptz not null)`);
});

afterAll(async () => {
	if (admin) {
		await admin.sql.unsafe(`drop table if exists ${WORK}`);
		await admin.sql`delete from lease where name = ${String(LOCK_ID)}`;
	}
	await Promise.all([a?.close(), b?.close(), admin?.close()]);
});

interface ContenderReport {
	ran: boolean;
	epoch: number | null;
	units: number;
	/** How the holder learned it lost the lease: its connection watch, or a fence that found a newer epoch. */
	lostBy: 'signal' | 'fence' | null;
}

/** Holds the lease and does units of work under it (each a fenced transaction) until it loses it or `stop` aborts. */
async function contender(db: DbHandle, name: string, stop: AbortSignal, onUnit?: (n: number) => void): Promise<ContenderReport> {
	const report: ContenderReport = { ran: false, epoch: null, units: 0, lostBy: null };
	const r = await withLease(db.sql, LOCK_ID, { waitMs: 60_000, retryMs: 50, watchMs: 200, signal: stop }, async (lease) => {
		report.ran = true;
		report.epoch = lease.epoch;
		while (!stop.aborted) {
			if (lease.signal.aborted) {
				report.lostBy = 'signal';
				return;
			}
			try {
				await inTransaction(db.db, async (tx) => {
					await lease.fence(tx);
					await tx.execute(sql.raw(`insert into ${WORK} (holder, epoch, started, finished) values ('${name}', ${lease.epoch}, clock_timestamp(), clock_timestamp()) `));
					// The unit's work takes a while, so a takeover can land in the middle of one.
					await tx.execute(sql`select pg_sleep(${UNIT_MS / 1000})`);
					await tx.execute(sql.raw(`update ${WORK} set finished = clock_timestamp() where id = currval('${WORK}_id_seq')`));
				});
			} catch (err) {
				if (err instanceof LeaseLostError) {
					report.lostBy = lease.signal.aborted ? 'signal' : 'fence';
					return;
				}
				throw err;
			}
			report.units++;
			onUnit?.(report.units);
		}
	});
	expect(r.ran).toBe(true);
	return report;
}

/** The backend holding LOCK_ID's session lock. */
async function holderPid(): Promise<number | null> {
	const [row] = await admin.sql<{ pid: number }[]>`
		select pid from pg_locks where locktype = 'advisory' and granted and classid = 0 and objid = ${LOCK_ID} and objsubid = 1`;
	return row?.pid ?? null;
}

it('a holder whose backend is terminated stops before its next unit, and the next holder never overlaps it', { timeout: 120_000 }, async () => {
	const stopA = new AbortController();
	const stopB = new AbortController();
	let unitsOfA = 0;
	const runA = contender(a, 'a', stopA.signal, (n) => (unitsOfA = n));
	// A works a few units before B contends (B waits on the lock meanwhile).
	const until = Date.now() + 30_000;
	while (unitsOfA < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
	expect(unitsOfA).toBeGreaterThanOrEqual(3);
	let unitsOfB = 0;
	const runB = contender(b, 'b', stopB.signal, (n) => (unitsOfB = n));

	// Terminate A's lock backend while A is in the middle of a unit (its work runs on another pooled connection).
	const pid = await holderPid();
	expect(pid).not.toBeNull();
	const [{ terminated }] = await admin.sql<{ terminated: boolean }[]>`select pg_terminate_backend(${pid!}) as terminated`;
	expect(terminated).toBe(true);

	const reportA = await runA;
	expect(reportA.ran).toBe(true);
	expect(reportA.lostBy).not.toBeNull();

	// B takes over and works.
	const untilB = Date.now() + 60_000;
	while (unitsOfB < 3 && Date.now() < untilB) await new Promise((r) => setTimeout(r, 20));
	stopB.abort();
	stopA.abort();
	const reportB = await runB;
	expect(reportB.ran).toBe(true);
	expect(reportB.epoch).toBeGreaterThan(reportA.epoch!);
	expect(reportB.units).toBeGreaterThanOrEqual(3);

	// Every committed unit, in server time: A's all before B's first, and no two overlap at all.
	// Microseconds, as the server stamped them (a JS Date would round to milliseconds).
	const units = (
		await admin.sql<{ holder: string; epoch: string; started: string; finished: string }[]>`
			select holder, epoch, (extract(epoch from started) * 1000000)::bigint as started, (extract(epoch from finished) * 1000000)::bigint as finished
			from ${admin.sql(WORK)} order by started`
	).map((u) => ({ holder: u.holder, epoch: Number(u.epoch), started: BigInt(u.started), finished: BigInt(u.finished) }));
	expect(units.filter((u) => u.holder === 'a')).toHaveLength(reportA.units);
	expect(units.filter((u) => u.holder === 'b')).toHaveLength(reportB.units);
	for (const u of units) expect(u.epoch).toBe(u.holder === 'a' ? reportA.epoch : reportB.epoch);
	const overlaps = units.slice(1).filter((u, i) => u.started < units[i].finished);
	expect(overlaps).toEqual([]);
	const lastOfA = units.filter((u) => u.holder === 'a').at(-1)!;
	const firstOfB = units.find((u) => u.holder === 'b')!;
	expect(lastOfA.finished < firstOfB.started).toBe(true);
});

it('a fence in a transaction holds off a new holder until that transaction ends, then fails the old holder', { timeout: 60_000 }, async () => {
	// A is inside a fenced transaction when its lock connection dies; B's epoch bump waits for that transaction.
	let releaseA!: () => void;
	const aMayCommit = new Promise<void>((r) => (releaseA = r));
	let aInTx!: () => void;
	const aIsInTx = new Promise<void>((r) => (aInTx = r));
	const events: string[] = [];
	const runA = withLease(a.sql, LOCK_ID, { waitMs: 10_000, watchMs: 60_000 }, async (lease) => {
		await inTransaction(a.db, async (tx) => {
			await lease.fence(tx);
			aInTx();
			await aMayCommit;
			events.push('a committed');
		});
		// The watch is slowed down here: only the fence can tell A it lost the lease.
		return inTransaction(a.db, (tx) => lease.fence(tx)).then(
			() => 'still held',
			(err) => (err instanceof LeaseLostError ? 'lost' : `error: ${String(err)}`)
		);
	});
	await aIsInTx;
	await admin.sql`select pg_terminate_backend(${(await holderPid())!})`;
	const runB = withLease(b.sql, LOCK_ID, { waitMs: 30_000, retryMs: 20 }, async () => {
		events.push('b acquired');
	});
	// B has the advisory lock (A's died) but its epoch bump waits for A's open transaction.
	const until = Date.now() + 30_000;
	while ((await holderPid()) === null && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
	await new Promise((r) => setTimeout(r, 300));
	expect(events).toEqual([]);
	releaseA();
	const [ra, rb] = await Promise.all([runA, runB]);
	expect(events).toEqual(['a committed', 'b acquired']);
	expect(ra).toEqual({ ran: true, value: 'lost' });
	expect(rb.ran).toBe(true);
});
