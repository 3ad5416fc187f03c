import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

// A generated recipients CSV with everything the import must survive, and the outcome it must produce:
// BOM, semicolon delimiter, CRLF, quoted fields holding the delimiter, commas and line breaks, blank lines,
// national and international phone formats, bad numbers, and duplicates by phone and by customer id.
// The expected result is worked out as the import defines merging: a row joins the recipient holding its phone,
// else the one holding its customer id, else starts a new one (whose phone and customer id it then holds).

export interface GeneratedCsv {
	path: string;
	rows: number;
	bytes: number;
	/** Bad rows: physical line (header = 1) → what the reason must mention. */
	badLines: Map<number, string>;
	/** Distinct recipients the good rows make. */
	recipients: number;
	/** Good rows that merged into an earlier recipient. */
	merged: number;
	/** A few rows to look up afterwards: as written and as they must be stored. */
	samples: { line: number; phoneE164: string; customerId: string; lastName: string; address: string }[];
}

export interface GenerateOptions {
	rows: number;
	delimiter?: ';' | ',' | '\t';
	bom?: boolean;
	crlf?: boolean;
	/** Bad rows, duplicates and blank lines (off for the benchmark's clean million). */
	messy?: boolean;
	/** Offset for phone numbers, so two files can overlap or not. */
	phoneOffset?: number;
}

// US numbers (tenants default to US): area code 212, exchange 2xx–9xx, all valid and distinct per index.
function usDigits(i: number): string {
	const exchange = 200 + Math.floor(i / 10_000) % 800;
	return `212${exchange}${String(i % 10_000).padStart(4, '0')}`;
}

function quote(v: string, delimiter: string): string {
	return /["\r\n]/.test(v) || v.includes(delimiter) || v.includes(',') ? `"${v.replace(/"/g, '""')}"` : v;
}

export async function generateRecipientsCsv(path: string, opts: GenerateOptions): Promise<GeneratedCsv> {
	const d = opts.delimiter ?? ';';
	const nl = opts.crlf === false ? '\n' : '\r\n';
	const messy = opts.messy ?? true;
	const out = createWriteStream(path);
	let buf = (opts.bom === false ? '' : '\uFEFF') + ['Customer ID', 'First name', 'Last name', 'Phone', 'E-mail', 'Address', 'Postcode'].join(d) + nl;
	let line = 2;
	let bytes = 0;
	const badLines = new Map<number, string>();
	const byPhone = new Map<string, number>();
	const byCustomer = new Map<string, number>();
	let recipients = 0;
	let merged = 0;
	const samples: GeneratedCsv['samples'] = [];
	const write = async (s: string) => {
		buf += s;
		if (buf.length > 256 * 1024) {
			bytes += Buffer.byteLength(buf);
			if (!out.write(buf)) await once(out, 'drain');
			buf = '';
		}
	};
	const offset = opts.phoneOffset ?? 0;
	for (let i = 0; i < opts.rows; i++) {
		if (messy && i > 0 && i % 500 === 0) {
			await write(nl);
			line++;
		}
		let n = i + offset;
		let customerId = `C${String(i + offset).padStart(8, '0')}`;
		// Duplicates: every 50th row repeats an earlier row's phone in another format; every 77th an earlier
		// row's customer id with a phone of its own.
		if (messy && i % 50 === 49) n = i - 7 + offset;
		if (messy && i % 77 === 76) customerId = `C${String(i - 3 + offset).padStart(8, '0')}`;
		const digits = usDigits(n);
		const e164 = `+1${digits}`;
		let phone: string;
		switch (i % 4) {
			case 0:
				phone = `(${digits.slice(0, 3)}) ${digits.slice(3, 6)}-${digits.slice(6)}`;
				break;
			case 1:
				phone = `+1 ${digits.slice(0, 3)} ${digits.slice(3, 6)} ${digits.slice(6)}`;
				break;
			case 2:
				phone = `${digits.slice(0, 3)}-${digits.slice(3, 6)}-${digits.slice(6)}`;
				break;
			default:
				phone = digits;
		}
		let bad: string | null = null;
		if (messy && i % 97 === 13) [phone, bad] = ['call me maybe', 'not a phone number'];
		else if (messy && i % 101 === 17) [phone, bad] = ['555-12', 'not a valid number'];
		else if (messy && i % 103 === 19) [phone, bad] = ['', 'missing'];
		const lastName = i % 31 === 0 ? `O'Brien${d} Jr, ${i}` : `Last${i}`;
		const multiline = messy && i % 200 === 3;
		const address = multiline ? `Flat ${i}\r\n${i} High Street, Springfield` : `${i} Main Street, Springfield`;
		const fields = [customerId, `First${i}`, lastName, phone, `person${i}@example.test`, address, `1${String(i % 10_000).padStart(4, '0')}`];
		await write(fields.map((f) => quote(f, d)).join(d) + nl);
		if (bad) badLines.set(line, bad);
		else {
			const existing = byPhone.get(e164) ?? byCustomer.get(customerId);
			if (existing === undefined) {
				recipients++;
				byPhone.set(e164, recipients);
				byCustomer.set(customerId, recipients);
				if (samples.length < 20 && (multiline || i % 31 === 0 || i % 4 === 0)) samples.push({ line, phoneE164: e164, customerId, lastName, address });
			} else merged++;
		}
		line += multiline ? 2 : 1;
	}
	bytes += Buffer.byteLength(buf);
	out.end(buf);
	await once(out, 'finish');
	return { path, rows: opts.rows, bytes, badLines, recipients, merged, samples };
}
