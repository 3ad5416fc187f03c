import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

// Where post_call_audio recordings go. Decoded MP3 bytes are streamed straight to a temp file and renamed into
// place once the webhook's signature is verified, so a recording is never held in memory whole.

export interface AudioUpload {
	write(bytes: Uint8Array): Promise<void>;
	readonly bytes: number;
	/** fsyncs and moves the file under `key`; replaces an earlier copy (same conversation, same audio). */
	commit(key: string): Promise<void>;
	abort(): Promise<void>;
}

export interface AudioStore {
	keyFor(connectionId: string, conversationId: string): string;
	begin(): Promise<AudioUpload>;
	/** Absolute path of a stored key (for serving or tests). */
	pathOf(key: string): string;
}

/** Keys are built here from ids, so a hostile conversation id can never escape the root. */
function safeSegment(s: string): string {
	return /^[A-Za-z0-9_-]{1,128}$/.test(s) ? s : `h_${createHash('sha256').update(s).digest('hex').slice(0, 40)}`;
}

export function createFileAudioStore(rootDir: string): AudioStore {
	const root = resolve(rootDir);
	const tmpDir = join(root, '.tmp');
	let ready: Promise<unknown> | undefined;
	const ensureTmp = () => (ready ??= mkdir(tmpDir, { recursive: true }));

	return {
		keyFor: (connectionId, conversationId) => `${safeSegment(connectionId)}/${safeSegment(conversationId)}.mp3`,
		pathOf: (key) => join(root, key),
		async begin() {
			await ensureTmp();
			const tmpPath = join(tmpDir, `${randomUUID()}.part`);
			const fh: FileHandle = await open(tmpPath, 'w', 0o640);
			let bytes = 0;
			let closed = false;
			const close = async () => {
				if (closed) return;
				closed = true;
				await fh.close();
			};
			return {
				get bytes() {
					return bytes;
				},
				async write(chunk) {
					bytes += chunk.byteLength;
					await fh.write(chunk);
				},
				async commit(key) {
					await fh.sync();
					await close();
					const dest = join(root, key);
					await mkdir(dirname(dest), { recursive: true });
					await rename(tmpPath, dest);
				},
				async abort() {
					await close().catch(() => {});
					await rm(tmpPath, { force: true });
				}
			};
		}
	};
}
