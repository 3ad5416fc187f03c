import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import Papa from 'papaparse';
import { RECIPIENT_FIELDS, type ColumnMapping, type RecipientField } from '../../db/schema/index';
import { DomainError } from '../../errors';

// Reading recipient CSV files: UTF-8 checked while streaming (a non-UTF-8 file is refused, never guessed at),
// delimiter detected among comma, semicolon and tab, papaparse streaming, and each record's physical line number.

export const CSV_DELIMITERS = [',', ';', '\t'] as const;
export type CsvDelimiter = (typeof CSV_DELIMITERS)[number];

export class NotUtf8Error extends DomainError {
	constructor(readonly nearByte: number) {
		super(
			'BAD_INPUT',
			`This file is not UTF-8 text (the bytes near byte ${nearByte} are not valid UTF-8; it may be Latin-1 or Windows-1252). ` +
				'Save it as "CSV UTF-8" and upload it again.',
			{ nearByte }
		);
	}
}

/**
 * Passes bytes through unchanged while checking they are UTF-8 (streaming, so a character split across chunks is
 * fine), counting them, and keeping the first `keepText` characters of decoded text for a preview.
 */
export class Utf8Check extends Transform {
	bytes = 0;
	text = '';
	private decoder = new TextDecoder('utf-8', { fatal: true });
	constructor(private readonly keepText = 0) {
		super();
	}
	override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
		const start = this.bytes;
		this.bytes += chunk.length;
		try {
			const s = this.decoder.decode(chunk, { stream: true });
			if (this.text.length < this.keepText) this.text += s.slice(0, this.keepText - this.text.length);
		} catch {
			return cb(new NotUtf8Error(start));
		}
		cb(null, chunk);
	}
	override _flush(cb: TransformCallback) {
		try {
			this.decoder.decode();
		} catch {
			return cb(new NotUtf8Error(this.bytes));
		}
		cb();
	}
}

/** Decodes UTF-8 bytes to text (fatal on invalid input; a leading BOM is dropped), counting the bytes read. */
export class Utf8Decode extends Transform {
	bytes = 0;
	private decoder = new TextDecoder('utf-8', { fatal: true });
	constructor() {
		super({ decodeStrings: true, readableObjectMode: false });
		this.setEncoding('utf8');
	}
	override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
		const start = this.bytes;
		this.bytes += chunk.length;
		let s: string;
		try {
			s = this.decoder.decode(chunk, { stream: true });
		} catch {
			return cb(new NotUtf8Error(start));
		}
		cb(null, s);
	}
	override _flush(cb: TransformCallback) {
		try {
			const s = this.decoder.decode();
			cb(null, s || undefined);
		} catch {
			cb(new NotUtf8Error(this.bytes));
		}
	}
}

export interface CsvPreview {
	delimiter: CsvDelimiter;
	headers: string[];
	rows: string[][];
}

/** Header, delimiter and the first rows from the start of a file's text (BOM already removed or not). */
export function previewCsvText(text: string, maxRows = 10): CsvPreview {
	const body = text.replace(/^\uFEFF/, '');
	// A preview cut mid-file may end mid-record; drop the last (possibly partial) line unless the text is whole.
	const parsed = Papa.parse<string[]>(body, { delimitersToGuess: [...CSV_DELIMITERS], preview: maxRows + 2, skipEmptyLines: 'greedy' });
	const detected = parsed.meta.delimiter as string;
	const delimiter: CsvDelimiter = (CSV_DELIMITERS as readonly string[]).includes(detected) ? (detected as CsvDelimiter) : ',';
	const [headers = [], ...rows] = parsed.data;
	if (headers.length === 0 || headers.every((h) => h.trim() === '')) throw new DomainError('BAD_INPUT', 'The file is empty: expected a header line and rows');
	return { delimiter, headers: headers.map((h) => h.trim()), rows: rows.slice(0, maxRows) };
}

/** Reads the start of a stored file for the column-mapping step. */
export async function previewCsvFile(path: string, maxRows = 10): Promise<CsvPreview> {
	const fh = await open(path, 'r');
	try {
		const buf = Buffer.alloc(64 * 1024);
		const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
		// Not fatal here: the upload already checked the whole file, and a cut may split a character.
		return previewCsvText(new TextDecoder('utf-8').decode(buf.subarray(0, bytesRead)), maxRows);
	} finally {
		await fh.close();
	}
}

// Header words that name each field, compared after lower-casing and removing everything but letters and digits.
const HEADER_GUESSES: Record<RecipientField, string[]> = {
	phone: ['phone', 'phonenumber', 'telephone', 'tel', 'mobile', 'mobilephone', 'cell', 'cellphone', 'msisdn', 'number', 'phoneno', 'telefon', 'telefoon', 'telephonenumber', 'contactnumber'],
	firstName: ['firstname', 'first', 'givenname', 'forename', 'fname', 'vorname', 'prenom'],
	lastName: ['lastname', 'last', 'surname', 'familyname', 'lname', 'nachname', 'nom'],
	email: ['email', 'emailaddress', 'mail', 'eMail'.toLowerCase()],
	address: ['address', 'streetaddress', 'street', 'address1', 'addressline1', 'adresse', 'strasse'],
	postcode: ['postcode', 'postalcode', 'zip', 'zipcode', 'plz', 'postcodezip'],
	customerId: ['customerid', 'customer', 'customerno', 'customernumber', 'clientid', 'accountid', 'accountnumber', 'externalid', 'id', 'crmid', 'kundennummer']
};

/** Guesses which column holds which field from the header names; each column and each field used at most once. */
export function guessColumnMapping(headers: string[]): ColumnMapping {
	const keys = headers.map((h) => h.toLowerCase().replace(/[^a-z0-9]/g, ''));
	const mapping: ColumnMapping = {};
	const used = new Set<number>();
	// Exact names first, then headers that contain a name (e.g. "Mobile phone (home)").
	for (const exact of [true, false]) {
		for (const field of RECIPIENT_FIELDS) {
			if (mapping[field] !== undefined) continue;
			const i = keys.findIndex((k, idx) => !used.has(idx) && k !== '' && HEADER_GUESSES[field].some((g) => (exact ? k === g : g.length >= 4 && k.includes(g))));
			if (i >= 0) {
				mapping[field] = i;
				used.add(i);
			}
		}
	}
	return mapping;
}

export interface CsvRecord {
	/** Physical line of the file where the record starts (the header is line 1). */
	line: number;
	fields: string[];
}

/**
 * The records of a stored CSV file after its header, streamed: bytes → UTF-8 check → papaparse. Blank lines are
 * skipped (but counted, so line numbers stay those a text editor shows). `bytesRead()` reports progress.
 */
export function readCsvRecords(path: string, delimiter: CsvDelimiter): { records: AsyncIterable<CsvRecord>; bytesRead: () => number; headers: Promise<string[]> } {
	const decode = new Utf8Decode();
	const file = createReadStream(path, { highWaterMark: 256 * 1024 });
	const parser = Papa.parse(Papa.NODE_STREAM_INPUT, { delimiter, skipEmptyLines: false }) as unknown as NodeJS.ReadWriteStream;
	file.on('error', (err) => decode.destroy(err));
	decode.on('error', (err) => (parser as unknown as Transform).destroy(err));
	file.pipe(decode).pipe(parser);
	let resolveHeaders: (h: string[]) => void = () => {};
	const headers = new Promise<string[]>((r) => (resolveHeaders = r));
	async function* records(): AsyncGenerator<CsvRecord> {
		let line = 1;
		let first = true;
		try {
			for await (const fields of parser as AsyncIterable<string[]>) {
				const at = line;
				// The next record starts after this one's line break and any line breaks inside its quoted fields.
				line += 1;
				for (const f of fields) if (f.length > 0 && f.includes('\n')) line += countNewlines(f);
				if (first) {
					first = false;
					resolveHeaders(fields.map((h) => h.trim()));
					continue;
				}
				if (isBlank(fields)) continue;
				yield { line: at, fields };
			}
		} finally {
			resolveHeaders([]);
			file.destroy();
		}
	}
	return { records: records(), bytesRead: () => decode.bytes, headers };
}

function countNewlines(s: string): number {
	let n = 0;
	for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
	return n;
}

function isBlank(fields: string[]): boolean {
	for (const f of fields) if (f.trim() !== '') return false;
	return true;
}
