/**
 * The last good flags document on disk, so a process that starts while the server is
 * unreachable still serves what its service last saw instead of every caller's default.
 *
 * Writes go to a temporary file in the same directory and are renamed over the target: a reader
 * (or a crash mid-write) sees the old document or the new one, never half of one. Writes are
 * coalesced: while one is in flight only the newest pending document is kept, so a burst of
 * versions ends with the newest on disk and an older one never overwrites it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

export class StateFile {
  private pending: string | undefined;
  private writing: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** The stored text, or `undefined` when there is none (a read error counts as none). */
  async read(): Promise<string | undefined> {
    try {
      return await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(err);
      return undefined;
    }
  }

  /** Schedules `text` to be written; resolves once it (or a newer text) is on disk. */
  write(text: string): Promise<void> {
    this.pending = text;
    this.writing ??= this.drain().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  /** Resolves when nothing is left to write. */
  async flush(): Promise<void> {
    await this.writing;
  }

  private async drain(): Promise<void> {
    while (this.pending !== undefined) {
      const text = this.pending;
      this.pending = undefined;
      try {
        await this.replace(text);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  private async replace(text: string): Promise<void> {
    await mkdir(path.dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const handle = await open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(text, 'utf8');
        // Without the sync a power loss after the rename can leave an empty file in its place.
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }
}
