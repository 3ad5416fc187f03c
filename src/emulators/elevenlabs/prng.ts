// mulberry32: tiny, fast and good enough for fixtures; the point is reproducibility from a seed, not quality.
export interface Prng {
	next(): number;
	int(minInclusive: number, maxInclusive: number): number;
	chance(p: number): boolean;
	pick<T>(items: readonly T[]): T;
	digits(n: number): string;
	hex(n: number): string;
	id(n: number): string;
}

const ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export function createPrng(seed: number): Prng {
	let a = seed >>> 0;
	const next = () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
	const fromAlphabet = (alphabet: string, n: number) => {
		let s = '';
		for (let i = 0; i < n; i++) s += alphabet[Math.floor(next() * alphabet.length)];
		return s;
	};
	return {
		next,
		int,
		chance: (p) => p > 0 && next() < p,
		pick: (items) => items[Math.floor(next() * items.length)],
		digits: (n) => fromAlphabet('0123456789', n),
		hex: (n) => fromAlphabet('0123456789abcdef', n),
		id: (n) => fromAlphabet(ID_ALPHABET, n)
	};
}
