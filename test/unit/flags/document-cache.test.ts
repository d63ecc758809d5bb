import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import type { FlagState } from '../../../src/evaluation/types.js';
import { FlagStateService, type FlagChangeCause } from '../../../src/flags/flag-state-service.js';
import { openSqliteStorage, type SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.js';
import type { Unit } from '../../../src/unit-of-work.js';

/**
 * FlagStateService serves the latest committed document of each service from a snapshot that
 * takes a unit's changes only after it commits. A row written in a unit that then rolls back frees
 * its seq, and the next committed write (by another process) takes the same seq: the snapshot must
 * serve that commit's document, never the rolled-back one.
 */
describe('the flags document cache', () => {
  let dir: string;
  let storage: SqliteStorage;
  let flags: FlagStateService;
  const cause: FlagChangeCause = { type: 'started', experiment: 'exp', experiment_version: 1, decision_id: null, policy_revision: null, actor: 'alice' };
  // The service stores flag states as given; only their JSON matters here.
  const flag = (key: string, variant: string) =>
    ({ state: 'ENABLED', default_variant: variant, variants: { [variant]: true }, experiment: { key, version: 1 } }) as unknown as FlagState;
  /** The write as Lifecycle makes it: inside the unit, published after its commit. */
  const writeIn = async (u: Unit, service: FlagStateService, key: string, flagKey: string, variant: string) => {
    const changes = await service.replaceExperiment(u.flags, key, ['web'], new Map([['web', { [flagKey]: flag(key, variant) }]]), { ...cause, experiment: key });
    u.afterCommit(() => service.publish(changes));
    return changes;
  };
  const write = (key: string, flagKey: string, variant: string) => storage.tx.run((u) => writeIn(u, flags, key, flagKey, variant));

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-doccache-'));
    storage = openSqliteStorage({ path: path.join(dir, 'db.sqlite') });
    flags = new FlagStateService(storage.read.flags, new ManualClock(new Date('2026-12-01T00:00:00Z')));
    await flags.load(storage);
  });

  afterEach(async () => {
    flags.stop();
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('never serves a document read inside a transaction that rolled back, though its seq is handed out again', async () => {
    await write('first', 'first_flag', 'a');
    const committed = flags.current('web');
    await expect(
      storage.tx.run(async (u) => {
        const [ghost] = await writeIn(u, flags, 'ghost', 'ghost_flag', 'g');
        // The unit sees its own write; the read path does not, before the commit.
        expect((await u.flags.latest('web'))!.json).toContain('ghost_flag');
        expect(flags.current('web')).toEqual(committed);
        expect(ghost!.version).toBe(2);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(flags.current('web')).toEqual(committed);
    // Another process (a second connection on the file) commits the next version, on the freed seq.
    const otherStorage = openSqliteStorage({ path: path.join(dir, 'db.sqlite') });
    try {
      const other = new FlagStateService(otherStorage.read.flags, new ManualClock(new Date('2026-12-01T00:00:01Z')));
      const [real] = await otherStorage.tx.run((u) => writeIn(u, other, 'real', 'real_flag', 'r'));
      expect(real!.version).toBe(2);
      expect(real!.seq).toBe(committed.version + 1);
      // Seen within OTHER_WRITER_POLL_MS (the data_version poll); then it must be that commit's document, not the rolled-back one.
      await vi.waitFor(() => expect(flags.current('web').version).toBe(2), { timeout: 5_000, interval: 10 });
      expect(flags.current('web').json).toBe(real!.json);
    } finally {
      await otherStorage.close();
    }
  });

  it('serves the newest committed document after each write', async () => {
    await write('one', 'one_flag', 'a');
    expect(flags.current('web').version).toBe(1);
    await write('two', 'two_flag', 'b');
    expect(flags.current('web').version).toBe(2);
    expect(JSON.parse(flags.current('web').json).flags).toHaveProperty('two_flag');
  });
});
