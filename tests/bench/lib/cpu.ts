import { readdirSync, readFileSync } from 'node:fs';

// Where the CPU goes during a phase (Linux /proc only; elsewhere the breakdown is simply left out): user+system
// time of each process tree, so the figures show who used the machine's cores while the load ran.

const TICKS_PER_SEC = 100;

interface ProcStat {
	pid: number;
	ppid: number;
	ticks: number;
}

function readStat(pid: number): ProcStat | null {
	try {
		const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
		// The command name is in parentheses and may contain spaces; the fields after it are fixed.
		const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
		return { pid, ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
	} catch {
		return null;
	}
}

function allStats(): ProcStat[] {
	try {
		return readdirSync('/proc')
			.filter((d) => /^\d+$/.test(d))
			.map((d) => readStat(Number(d)))
			.filter((s): s is ProcStat => s !== null);
	} catch {
		return [];
	}
}

/** CPU seconds of the whole machine so far (all cores), from /proc/stat: process time, interrupts, steal. */
function machineSeconds(): { processes: number; interrupts: number; steal: number } {
	try {
		const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
		const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
		return { processes: (user + nice + system) / TICKS_PER_SEC, interrupts: (irq + softirq) / TICKS_PER_SEC, steal: steal / TICKS_PER_SEC };
	} catch {
		return { processes: NaN, interrupts: NaN, steal: NaN };
	}
}

/**
 * CPU seconds used so far by each named process tree (the root and all its descendants), plus the benchmark
 * process itself, every other process, interrupts and steal.
 */
export function cpuSeconds(roots: Record<string, number | undefined>): Record<string, number> {
	const stats = allStats();
	const children = new Map<number, ProcStat[]>();
	for (const s of stats) {
		const list = children.get(s.ppid);
		if (list) list.push(s);
		else children.set(s.ppid, [s]);
	}
	const byPid = new Map(stats.map((s) => [s.pid, s]));
	const out: Record<string, number> = {};
	for (const [name, root] of Object.entries(roots)) {
		if (!root || !byPid.has(root)) continue;
		let ticks = 0;
		const stack = [byPid.get(root)!];
		while (stack.length) {
			const s = stack.pop()!;
			ticks += s.ticks;
			stack.push(...(children.get(s.pid) ?? []));
		}
		out[name] = ticks / TICKS_PER_SEC;
	}
	const self = process.cpuUsage();
	out.bench = (self.user + self.system) / 1e6;
	const machine = machineSeconds();
	if (Number.isFinite(machine.processes)) {
		// Someone else's build or test run on the same machine: the figures are then pessimistic.
		out.others = machine.processes - Object.values(out).reduce((a, b) => a + b, 0);
		// Interrupts (loopback networking, mostly) are billed to no process.
		out.interrupts = machine.interrupts;
		// A virtual machine's cores are not all ours: time the hypervisor gave to other guests.
		out.steal = machine.steal;
	}
	return out;
}

/** Share of one core each tree used between two snapshots taken `seconds` apart (100% = one full core). */
export function cpuShares(before: Record<string, number>, after: Record<string, number>, seconds: number): Record<string, number> {
	const out: Record<string, number> = {};
	// Per-process ticks and /proc/stat are not read atomically: `others` can come out a little below zero.
	for (const k of Object.keys(after)) if (k in before) out[k] = Math.max(0, (after[k] - before[k]) / seconds);
	return out;
}

export function readPidFile(path: string): number | undefined {
	try {
		const pid = Number(readFileSync(path, 'utf8').split('\n')[0].trim());
		return Number.isInteger(pid) && pid > 0 ? pid : undefined;
	} catch {
		return undefined;
	}
}
