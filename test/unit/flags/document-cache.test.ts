import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import type { FlagState } from '../../../src/evaluation/types.js';
import { FlagStateService, type FlagChangeCause } from '../../../src/flags/flag-state-service.js';
import { openDatabase, type Database } from '../../../src/storage/database.js';
import { FlagStore } from '../../../src/storage/flag-store.js';

/**
 * FlagStateService keeps the latest document of each service keyed by the row it came from. A row
 * written in a transaction that then rolls back frees its seq, and the next committed write takes
 * the same seq: a document remembered from inside that transaction would be served in its place.
 */
describe('the flags document cache', () => {
  let dir: string;
  let db: Database;
  let flags: FlagStateService;
  const cause: FlagChangeCause = { type: 'started', experiment: 'exp', experiment_version: 1, decision_id: null, policy_revision: null, actor: 'alice' };
  // The service stores flag states as given; only their JSON matters here.
  const flag = (key: string, variant: string) =>
    ({ state: 'ENABLED', default_variant: variant, variants: { [variant]: true }, experiment: { key, version: 1 } }) as unknown as FlagState;
  const write = (key: string, flagKey: string, variant: string) =>
    flags.replaceExperiment(key, ['web'], new Map([['web', { [flagKey]: flag(key, variant) }]]), { ...cause, experiment: key });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-doccache-'));
    db = openDatabase({ path: path.join(dir, 'db.sqlite') });
    flags = new FlagStateService(new FlagStore(db), new ManualClock(new Date('2026-12-01T00:00:00Z')));
  });

  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('never serves a document read inside a transaction that rolled back, though its seq is handed out again', async () => {
    write('first', 'first_flag', 'a');
    const committed = flags.current('web');
    expect(() =>
      db.transaction(() => {
        const [ghost] = write('ghost', 'ghost_flag', 'g');
        expect(flags.current('web').json).toContain('ghost_flag');
        expect(ghost!.version).toBe(2);
        throw new Error('roll back');
      })(),
    ).toThrow('roll back');
    // Another process (a second connection on the file) commits the next version, on the freed seq.
    const otherDb = openDatabase({ path: path.join(dir, 'db.sqlite') });
    try {
      const other = new FlagStateService(new FlagStore(otherDb), new ManualClock(new Date('2026-12-01T00:00:01Z')));
      const [real] = other.replaceExperiment('real', ['web'], new Map([['web', { real_flag: flag('real', 'r') }]]), { ...cause, experiment: 'real' });
      expect(real!.version).toBe(2);
      expect(real!.seq).toBe(committed.version + 1);
      // Seen within OTHER_WRITER_DELAY_MS; then it must be that commit's document, not the rolled-back one.
      await vi.waitFor(() => expect(flags.current('web').version).toBe(2), { timeout: 5_000, interval: 10 });
      expect(flags.current('web').json).toBe(real!.json);
    } finally {
      otherDb.close();
    }
  });

  it('serves the newest committed document after each write', () => {
    write('one', 'one_flag', 'a');
    expect(flags.current('web').version).toBe(1);
    write('two', 'two_flag', 'b');
    expect(flags.current('web').version).toBe(2);
    expect(JSON.parse(flags.current('web').json).flags).toHaveProperty('two_flag');
  });
});
