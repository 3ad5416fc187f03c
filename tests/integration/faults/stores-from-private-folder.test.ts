import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';

// A new user clones into a folder only they can enter (mode 700, like `mktemp -d` or a private home) and runs the
// stores from there. PostgreSQL runs as the `postgres` user, which cannot pass through such a folder; the stores
// must come up anyway, keep their data across down/up, and leave the folder's permissions as they were.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const exec = promisify(execFile);
const isRoot = process.getuid?.() === 0;

// mkdtemp creates the folder with mode 700, as `mktemp -d` does.
const parent = realpathSync(mkdtempSync(join(tmpdir(), 'voxcalls-clone-')));
const checkout = join(parent, 'voxcalls');
let env: NodeJS.ProcessEnv = process.env;

async function freePorts(n: number): Promise<number[]> {
	const servers = await Promise.all(
		Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((ok) => {
			const s = createServer();
			s.listen(0, '127.0.0.1', () => ok(s));
		}))
	);
	const ports = servers.map((s) => (s.address() as { port: number }).port);
	await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
	return ports;
}

const stores = (cmd: string) =>
	exec('bash', [join(checkout, 'scripts/stores.sh'), cmd], { cwd: checkout, env, timeout: 180_000 }).catch((err) => {
		throw new Error(`stores.sh ${cmd} failed:\n${err.stderr ?? err.message}`);
	});

afterAll(async () => {
	// Whatever happened above: stop this clone's servers and remove every trace of it, inside and outside the clone.
	if (existsSync(join(checkout, 'scripts/stores.sh'))) {
		await stores('purge').catch(() => stores('down').catch(() => undefined));
	}
	rmSync(parent, { recursive: true, force: true });
});

it('brings PostgreSQL and ClickHouse up from a fresh mode-700 clone, keeps data across down/up, then removes everything', { timeout: 300_000 }, async () => {
	const [pgPort, chHttpPort, chTcpPort] = await freePorts(3);
	env = {
		...process.env,
		VOXCALLS_PG_PORT: String(pgPort),
		VOXCALLS_CH_HTTP_PORT: String(chHttpPort),
		VOXCALLS_CH_TCP_PORT: String(chTcpPort)
	};
	// The clone keeps its data in its own .data, as a new user's would.
	delete env.VOXCALLS_DATA_DIR;
	const head = (await exec('git', ['rev-parse', 'HEAD'], { cwd: root })).stdout.trim();
	await exec('git', ['clone', '--quiet', '--shared', '--no-checkout', root, checkout]);
	await exec('git', ['checkout', '--quiet', '--detach', head], { cwd: checkout });

	expect(statSync(parent).mode & 0o777).toBe(0o700);
	if (isRoot) {
		// The situation that broke: the server's user cannot enter the folder the checkout lives in.
		await expect(exec('runuser', ['-u', 'postgres', '--', 'test', '-x', checkout])).rejects.toThrow();
	}

	await stores('up');
	const pgUrl = `postgres://postgres@127.0.0.1:${pgPort}/voxcalls`;
	const chQuery = async (q: string) => {
		const res = await fetch(`http://127.0.0.1:${chHttpPort}/`, { method: 'POST', body: q });
		expect(res.status).toBe(200);
		return (await res.text()).trim();
	};
	let sql = postgres(pgUrl, { max: 1, onnotice: () => {} });
	try {
		await sql`create table if not exists clone_probe (n int)`;
		await sql`insert into clone_probe values (42)`;
		expect(await sql`select datname from pg_database where datname in ('voxcalls', 'voxcalls_test') order by 1`).toEqual([
			{ datname: 'voxcalls' },
			{ datname: 'voxcalls_test' }
		]);
	} finally {
		await sql.end();
	}
	expect(await chQuery('SELECT name FROM system.databases WHERE name IN (\'voxcalls\', \'voxcalls_test\') ORDER BY name')).toBe('voxcalls\nvoxcalls_test');
	expect((await stores('status')).stdout).toBe('clickhouse: up\npostgres: up\n');

	// down finds the servers it started (also a cluster kept outside the clone), and up finds the same data again.
	await stores('down');
	expect((await stores('status')).stdout).toBe('clickhouse: down\npostgres: down\n');
	await stores('up');
	sql = postgres(pgUrl, { max: 1, onnotice: () => {} });
	try {
		expect(await sql`select n from clone_probe`).toEqual([{ n: 42 }]);
	} finally {
		await sql.end();
	}

	// Nothing was loosened to get there.
	expect(statSync(parent).mode & 0o777).toBe(0o700);

	// purge stops both servers and deletes their data, wherever the cluster lives.
	const pgDir = (await stores('pg-dir')).stdout.trim();
	expect(existsSync(join(pgDir, 'PG_VERSION'))).toBe(true);
	await stores('purge');
	expect((await stores('status')).stdout).toBe('clickhouse: down\npostgres: down\n');
	expect(existsSync(pgDir)).toBe(false);
	expect(existsSync(join(checkout, '.data'))).toBe(false);
});
