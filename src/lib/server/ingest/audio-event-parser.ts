// A push parser for post_call_audio webhook bodies too large to buffer (up to WEBHOOK_AUDIO_MAX_BYTES of
// base64 MP3). It checks the whole body is well-formed JSON, keeps the few small envelope fields we need, and
// hands back `data.full_audio` already base64-decoded, chunk by chunk, so the recording goes straight to storage.

export class MalformedJsonError extends Error {
	override name = 'MalformedJsonError';
}

export interface AudioEnvelope {
	type: string | null;
	eventTimestamp: number | null;
	agentId: string | null;
	conversationId: string | null;
	/** Decoded bytes of data.full_audio handed out; 0 when absent. */
	audioBytes: number;
	sawAudio: boolean;
}

const enum S {
	Value,
	ArrFirst,
	ObjFirstKey,
	ObjKey,
	Colon,
	AfterValue,
	Str,
	Num,
	Lit,
	Done
}

type Role = 'key' | 'type' | 'agentId' | 'conversationId' | 'timestamp' | 'audio' | 'skip';

interface Frame {
	obj: boolean;
	key: string | null;
}

const MAX_DEPTH = 256;
const MAX_CAPTURE_BYTES = 2048;
const NUMBER_RE = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isWs(c: number) {
	return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export class AudioEventStreamParser {
	private state: S = S.Value;
	private readonly stack: Frame[] = [];
	private role: Role = 'skip';
	private raw: Buffer[] = [];
	private rawLen = 0;
	private escape = 0; // 0: none, 1: after backslash, 2..5: \u hex digits still expected
	private unicode = '';
	private token = '';
	private b64carry = '';
	private out: Buffer[] = [];
	readonly envelope: AudioEnvelope = { type: null, eventTimestamp: null, agentId: null, conversationId: null, audioBytes: 0, sawAudio: false };

	/** Feeds the next bytes; returns decoded audio produced by them (possibly empty). */
	write(chunk: Uint8Array): Buffer[] {
		const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
		let i = 0;
		const n = buf.length;
		while (i < n) {
			if (this.state === S.Str) {
				i = this.string(buf, i);
				continue;
			}
			const c = buf[i];
			switch (this.state) {
				case S.Num:
					if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45) {
						if (this.token.length > 64) throw new MalformedJsonError('number too long');
						this.token += String.fromCharCode(c);
						i++;
					} else this.endNumber();
					continue;
				case S.Lit:
					if (c >= 0x61 && c <= 0x7a) {
						if (this.token.length > 5) throw new MalformedJsonError('bad literal');
						this.token += String.fromCharCode(c);
						i++;
					} else this.endLiteral();
					continue;
			}
			i++;
			if (isWs(c)) continue;
			switch (this.state) {
				case S.Value:
				case S.ArrFirst:
					if (this.state === S.ArrFirst && c === 0x5d) {
						this.stack.pop();
						this.afterValue();
					} else this.beginValue(c);
					break;
				case S.ObjFirstKey:
				case S.ObjKey:
					if (c === QUOTE) this.beginString('key');
					else if (c === 0x7d && this.state === S.ObjFirstKey) {
						this.stack.pop();
						this.afterValue();
					} else throw new MalformedJsonError('expected a key');
					break;
				case S.Colon:
					if (c !== 0x3a) throw new MalformedJsonError('expected ":"');
					this.state = S.Value;
					break;
				case S.AfterValue: {
					const top = this.stack[this.stack.length - 1];
					if (c === 0x2c) this.state = top.obj ? S.ObjKey : S.Value;
					else if ((c === 0x7d && top.obj) || (c === 0x5d && !top.obj)) {
						this.stack.pop();
						this.afterValue();
					} else throw new MalformedJsonError('expected "," or a closing bracket');
					break;
				}
				case S.Done:
					throw new MalformedJsonError('data after the end of the document');
			}
		}
		const out = this.out;
		this.out = [];
		return out;
	}

	/** Ends the document; throws MalformedJsonError if it is incomplete. Returns the last decoded audio bytes. */
	end(): Buffer[] {
		if (this.state === S.Num) this.endNumber();
		if (this.state === S.Lit) this.endLiteral();
		if (this.state !== S.Done) throw new MalformedJsonError('unexpected end of document');
		const out = this.out;
		this.out = [];
		return out;
	}

	private path(): Role {
		const s = this.stack;
		if (s.length === 1 && s[0].obj) {
			if (s[0].key === 'type') return 'type';
			if (s[0].key === 'event_timestamp') return 'timestamp';
		} else if (s.length === 2 && s[0].obj && s[0].key === 'data' && s[1].obj) {
			if (s[1].key === 'agent_id') return 'agentId';
			if (s[1].key === 'conversation_id') return 'conversationId';
			if (s[1].key === 'full_audio') return 'audio';
		}
		return 'skip';
	}

	private beginValue(c: number) {
		if (this.stack.length === 0 && c !== 0x7b) throw new MalformedJsonError('the body must be a JSON object');
		if (c === 0x7b || c === 0x5b) {
			if (this.stack.length >= MAX_DEPTH) throw new MalformedJsonError('nested too deeply');
			this.stack.push({ obj: c === 0x7b, key: null });
			this.state = c === 0x7b ? S.ObjFirstKey : S.ArrFirst;
		} else if (c === QUOTE) {
			const role = this.path();
			this.beginString(role === 'timestamp' ? 'skip' : role);
		} else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
			this.token = String.fromCharCode(c);
			this.state = S.Num;
		} else if (c === 0x74 || c === 0x66 || c === 0x6e) {
			this.token = String.fromCharCode(c);
			this.state = S.Lit;
		} else throw new MalformedJsonError('expected a value');
	}

	private afterValue() {
		this.state = this.stack.length === 0 ? S.Done : S.AfterValue;
	}

	private endNumber() {
		if (!NUMBER_RE.test(this.token)) throw new MalformedJsonError('bad number');
		if (this.path() === 'timestamp') this.envelope.eventTimestamp = Number(this.token);
		this.afterValue();
	}

	private endLiteral() {
		if (this.token !== 'true' && this.token !== 'false' && this.token !== 'null') throw new MalformedJsonError('bad literal');
		this.afterValue();
	}

	private beginString(role: Role) {
		this.role = role;
		this.raw = [];
		this.rawLen = 0;
		this.escape = 0;
		this.state = S.Str;
		if (role === 'audio') this.envelope.sawAudio = true;
	}

	/** Consumes string content from `i`; returns the next index to read. */
	private string(buf: Buffer, i: number): number {
		const n = buf.length;
		while (i < n) {
			if (this.escape > 0) {
				const c = buf[i++];
				this.escaped(c);
				continue;
			}
			// indexOf is native and fast: skip straight to the next quote or backslash.
			const q = buf.indexOf(QUOTE, i);
			const rel = buf.subarray(i, q === -1 ? n : q).indexOf(BACKSLASH);
			const stop = rel === -1 ? q : i + rel;
			const end = stop === -1 ? n : stop;
			if (end > i) this.content(buf.subarray(i, end));
			if (stop === -1) return n;
			if (buf[stop] === QUOTE) {
				this.endString();
				return stop + 1;
			}
			this.escape = 1;
			if (this.role !== 'audio') this.content(buf.subarray(stop, stop + 1));
			i = stop + 1;
		}
		return i;
	}

	private escaped(c: number) {
		if (this.role !== 'audio') this.content(Buffer.of(c));
		if (this.escape === 1) {
			if (c === 0x75) {
				this.escape = 2;
				this.unicode = '';
				return;
			}
			if (!'"\\/bfnrt'.includes(String.fromCharCode(c))) throw new MalformedJsonError('bad escape');
			// Inside base64 only an escaped "/" carries data; escaped whitespace is ignored like plain whitespace.
			if (this.role === 'audio' && c === 0x2f) this.audio('/');
			this.escape = 0;
			return;
		}
		const h = String.fromCharCode(c);
		if (!/[0-9a-fA-F]/.test(h)) throw new MalformedJsonError('bad \\u escape');
		this.unicode += h;
		if (++this.escape === 6) {
			this.escape = 0;
			if (this.role === 'audio') this.audio(String.fromCharCode(parseInt(this.unicode, 16)));
		}
	}

	private content(bytes: Buffer) {
		switch (this.role) {
			case 'skip':
				return;
			case 'audio':
				this.audio(bytes.toString('latin1'));
				return;
			default:
				this.rawLen += bytes.length;
				if (this.rawLen > MAX_CAPTURE_BYTES) {
					if (this.role !== 'key') throw new MalformedJsonError('envelope field too long');
					return; // an oversized key matches nothing we look for
				}
				this.raw.push(Buffer.from(bytes));
		}
	}

	private audio(chars: string) {
		this.b64carry += chars;
		const usable = this.b64carry.length - (this.b64carry.length % 4);
		if (usable >= 4096) {
			this.emit(this.b64carry.slice(0, usable));
			this.b64carry = this.b64carry.slice(usable);
		}
	}

	private emit(b64: string) {
		const bytes = Buffer.from(b64, 'base64');
		if (bytes.length > 0) {
			this.envelope.audioBytes += bytes.length;
			this.out.push(bytes);
		}
	}

	private endString() {
		if (this.escape !== 0) throw new MalformedJsonError('unterminated escape');
		const role = this.role;
		if (role === 'audio') {
			if (this.b64carry) this.emit(this.b64carry);
			this.b64carry = '';
		} else if (role !== 'skip') {
			let value: string | null = null;
			if (this.rawLen <= MAX_CAPTURE_BYTES) {
				try {
					value = JSON.parse(`"${Buffer.concat(this.raw).toString('utf8')}"`) as string;
				} catch {
					throw new MalformedJsonError('bad string');
				}
			}
			this.raw = [];
			if (role === 'key') {
				this.stack[this.stack.length - 1].key = value;
				this.state = S.Colon;
				return;
			}
			if (role === 'type') this.envelope.type = value;
			else if (role === 'agentId') this.envelope.agentId = value;
			else if (role === 'conversationId') this.envelope.conversationId = value;
		}
		this.afterValue();
	}
}
