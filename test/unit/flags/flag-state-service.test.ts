import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import type { FlagState } from '../../../src/evaluation/types.js';
import { FlagStateService, strongEtag, type FlagChangeCause, type FlagsChange, type FlagStorageLimits } from '../../../src/flags/flag-state-service.js';
import { openSqliteStorage, type SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.js';

/**
 * FlagStateService on a real SQLite file: the snapshot is loaded at start for every service,
 * takes a unit's changes only once it commits, reloads another process's commits in feed order
 * (each published once), and the document rules (sorted keys, size cap, retention) hold. The
 * other process is a second adapter on the same file; its commits are seen when
 * `checkExternal` is called (the poll timer is set out of reach), and the reload is awaited.
 */
const cause: FlagChangeCause = { type: 'started', experiment: 'exp', experiment_version: 1, decision_id: null, policy_revision: null, actor: 'alice' };
const flag = (key: string, variant: string) =>
  ({ state: 'ENABLED', default_variant: variant, variants: { [variant]: true }, experiment: { key, version: 1 } }) as unknown as FlagState;
const FAR = 3_600_000;

describe('FlagStateService', () => {
  let dir: string;
  let file: string;
  let storage: SqliteStorage;
  let other: SqliteStorage;
  let flags: FlagStateService;
  let theirs: FlagStateService;
  const clock = new ManualClock(new Date('2026-12-01T00:00:00Z'));

  const service = (s: SqliteStorage, limits?: FlagStorageLimits) => new FlagStateService(s.read.flags, clock, limits);
  /** One experiment's flags on `services`, written in a unit of `s` and published after its commit. */
  const write = (s: SqliteStorage, f: FlagStateService, key: string, next: Record<string, Record<string, FlagState>>, services: string[] = Object.keys(next)) =>
    s.tx.run(async (u) => {
      const changes = await f.replaceExperiment(u.flags, key, services, new Map(Object.entries(next)), { ...cause, experiment: key });
      u.afterCommit(() => f.publish(changes));
      return changes;
    });
  /** Another process's commits reach `flags`: the feed fires, and the reload it started is awaited. */
  const seeExternal = async () => {
    expect(storage.checkExternal()).toBe(true);
    await (Reflect.get(flags, 'reloading') as Promise<void>);
  };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-flagstate-'));
    file = path.join(dir, 'db.sqlite');
    storage = openSqliteStorage({ path: file, pollMs: FAR });
    other = openSqliteStorage({ path: file, pollMs: FAR });
    flags = service(storage);
    theirs = service(other);
    await flags.load(storage);
  });
  afterEach(async () => {
    flags.stop();
    await other.close();
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a service without a document is served the empty version 0', () => {
    const doc = flags.current('nobody');
    expect(doc).toMatchObject({ service: 'nobody', version: 0, createdAt: new Date(0).toISOString() });
    expect(JSON.parse(doc.json)).toEqual({ service: 'nobody', version: 0, flags: {} });
    expect(doc.etag).toBe(strongEtag(doc.json));
    expect(flags.lastSeq()).toBe(0);
  });

  it('the strong ETag is 32 base64url characters of the SHA-256, quoted', () => {
    expect(strongEtag('{}')).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
    expect(strongEtag('{}')).not.toBe(strongEtag('{ }'));
  });

  it('loads every service at start, and the highest feed position', async () => {
    await write(other, theirs, 'a', { web: { a_flag: flag('a', 'x') }, api: { a_flag: flag('a', 'x') } });
    await write(other, theirs, 'b', { web: { b_flag: flag('b', 'y') } });
    const fresh = service(storage);
    await fresh.load();
    expect(fresh.current('web').version).toBe(2);
    expect(fresh.current('api').version).toBe(1);
    expect(fresh.lastSeq()).toBe(3);
    expect(fresh.current('web')).toEqual(await storage.read.flags.latest('web'));
    // Without a feed it hears nothing, and stopping it is harmless.
    fresh.stop();
    fresh.stop();
  });

  it('writes sorted flags, one version per changed service in service order, and nothing for an unchanged one', async () => {
    const changes = await write(storage, flags, 'e', { zeta: { z_flag: flag('e', 'v'), a_flag: flag('e', 'v') }, alpha: { m_flag: flag('e', 'v') } });
    expect(changes.map((c) => [c.service, c.version, c.seq])).toEqual([
      ['alpha', 1, 1],
      ['zeta', 1, 2],
    ]);
    expect(Object.keys(JSON.parse(flags.current('zeta').json).flags)).toEqual(['a_flag', 'z_flag']);
    expect(flags.current('zeta').json).toBe(changes[1]!.json);
    expect(flags.current('zeta').etag).toBe(strongEtag(changes[1]!.json));
    expect(await write(storage, flags, 'e', { zeta: { z_flag: flag('e', 'v'), a_flag: flag('e', 'v') } })).toEqual([]);
    expect(await flags.at('zeta', 1)).toMatchObject({ version: 1, json: changes[1]!.json });
    expect((await flags.events(0, undefined, 10)).map((e) => e.seq)).toEqual([1, 2]);
    expect(flags.lastSeq()).toBe(2);
  });

  it("replacing one experiment's flags keeps every other experiment's flags on the service", async () => {
    await write(storage, flags, 'a', { web: { a_flag: flag('a', 'x') } });
    await write(storage, flags, 'b', { web: { b_flag: flag('b', 'y') } });
    await write(storage, flags, 'a', { web: { a_new: flag('a', 'z') } });
    expect(Object.keys(JSON.parse(flags.current('web').json).flags)).toEqual(['a_new', 'b_flag']);
    expect(flags.current('web').version).toBe(3);
  });

  it('the snapshot takes a change only after its unit commits, never one rolled back', async () => {
    const heard: FlagsChange[] = [];
    flags.subscribe((c) => heard.push(c));
    await expect(
      storage.tx.run(async (u) => {
        const changes = await flags.replaceExperiment(u.flags, 'g', ['web'], new Map([['web', { g_flag: flag('g', 'g') }]]), cause);
        u.afterCommit(() => flags.publish(changes));
        expect(flags.current('web').version).toBe(0);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(flags.current('web').version).toBe(0);
    expect(heard).toEqual([]);
    await write(storage, flags, 'g', { web: { g_flag: flag('g', 'g') } });
    expect(flags.current('web').version).toBe(1);
    expect(heard.map((c) => c.version)).toEqual([1]);
  });

  it('listeners hear each change; one that throws stops no other; unsubscribed ones hear nothing more', async () => {
    const a: number[] = [];
    const b: number[] = [];
    const off = flags.subscribe((c) => a.push(c.version));
    flags.subscribe(() => {
      throw new Error('closed socket');
    });
    flags.subscribe((c) => b.push(c.version));
    await write(storage, flags, 'one', { web: { one: flag('one', 'a') } });
    off();
    await write(storage, flags, 'two', { web: { two: flag('two', 'a') } });
    expect(a).toEqual([1]);
    expect(b).toEqual([1, 2]);
  });

  it('publish keeps the newest version and the highest feed position, whatever order changes come in', () => {
    const change = (version: number, seq: number): FlagsChange => ({ seq, service: 'web', version, etag: `"e${version}"`, json: `{"v":${version}}`, at: '2026-12-01T00:00:00.000Z', cause });
    flags.publish([change(2, 5)]);
    flags.publish([change(1, 3)]);
    expect(flags.current('web')).toMatchObject({ version: 2, json: '{"v":2}' });
    expect(flags.lastSeq()).toBe(5);
  });

  it("reloads another process's commits in feed order, publishing each once, never its own again", async () => {
    const heard: FlagsChange[] = [];
    flags.subscribe((c) => heard.push(c));
    await write(storage, flags, 'own', { web: { own: flag('own', 'a') } });
    await write(other, theirs, 'ext', { web: { ext: flag('ext', 'a') }, api: { ext: flag('ext', 'a') } });
    await seeExternal();
    expect(heard.map((c) => [c.seq, c.service, c.version])).toEqual([
      [1, 'web', 1],
      [2, 'api', 1],
      [3, 'web', 2],
    ]);
    const api = await storage.read.flags.latest('api');
    expect(heard[1]).toEqual({ seq: 2, service: 'api', version: 1, etag: api!.etag, json: api!.json, at: api!.createdAt, cause: { ...cause, experiment: 'ext' } });
    expect(flags.current('api')).toEqual(api);
    expect(flags.current('web').version).toBe(2);
    expect(flags.lastSeq()).toBe(3);
  });

  it('a reload never lowers the feed position known from its own later commit', async () => {
    await write(other, theirs, 'ext', { api: { ext: flag('ext', 'a') } });
    // Our own commit comes after theirs, before the feed has reported theirs.
    await write(storage, flags, 'own', { web: { own: flag('own', 'a') } });
    expect(flags.lastSeq()).toBe(2);
    await seeExternal();
    expect(flags.current('api').version).toBe(1);
    expect(flags.lastSeq()).toBe(2);
  });

  it('a reload skips a version whose body was pruned, and takes the newest', async () => {
    const short = service(other, { maxDocumentBytes: 1024 * 1024, historyVersions: 0 });
    await write(other, short, 'one', { web: { one: flag('one', 'a') } });
    await write(other, short, 'two', { web: { two: flag('two', 'a') } });
    expect(await storage.read.flags.at('web', 1)).toBeUndefined();
    await seeExternal();
    expect(flags.current('web').version).toBe(2);
  });

  it('a reload walks every page of the feed', async () => {
    await other.tx.run(async (u) => {
      for (let i = 0; i < 501; i++) {
        await theirs.replaceExperiment(u.flags, 'many', ['web'], new Map([['web', { many: flag('many', `v${i}`) }]]), cause);
      }
    });
    await seeExternal();
    expect(flags.current('web').version).toBe(501);
    expect(flags.lastSeq()).toBe(501);
  });

  it("reload() takes in another process's commits; a failed one resolves, keeps the last good snapshot, and does not stop the next", async () => {
    // The feed's read fails once (as a dropped connection would); every other call reads the real file.
    const base = storage.read.flags;
    let failures = 0;
    const read = new Proxy(base, {
      get(target, prop) {
        if (prop === 'events') {
          return async (...args: Parameters<typeof base.events>) => {
            if (failures > 0) {
              failures--;
              throw new Error('the query failed');
            }
            return target.events(...args);
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const mine = new FlagStateService(read, clock);
    await mine.load();
    await write(other, theirs, 'ext', { web: { ext: flag('ext', 'a') } });
    failures = 1;
    await expect(mine.reload()).resolves.toBeUndefined();
    expect(mine.current('web').version).toBe(0);
    await mine.reload();
    expect(mine.current('web').version).toBe(1);
    expect(mine.lastSeq()).toBe(1);
  });

  it('stop ends the reloads; a second load does not subscribe twice', async () => {
    await flags.load(storage);
    flags.stop();
    const heard: FlagsChange[] = [];
    flags.subscribe((c) => heard.push(c));
    await write(other, theirs, 'ext', { web: { ext: flag('ext', 'a') } });
    storage.checkExternal();
    await (Reflect.get(flags, 'reloading') as Promise<void>);
    expect(heard).toEqual([]);
    expect(flags.current('web').version).toBe(0);
  });

  it('keeps historyVersions bodies besides the latest, and pruneHistory drops the older ones', async () => {
    const kept = service(storage, { maxDocumentBytes: 1024 * 1024, historyVersions: 2 });
    for (const v of ['a', 'b', 'c', 'd']) await write(storage, kept, 'e', { web: { f: flag('e', v) } });
    const bodies = async () => Promise.all([1, 2, 3, 4].map(async (v) => (await storage.read.flags.at('web', v)) !== undefined));
    expect(await bodies()).toEqual([false, true, true, true]);
    // A lowered retention, at start.
    const lowered = service(storage, { maxDocumentBytes: 1024 * 1024, historyVersions: 1 });
    expect(await storage.tx.run((u) => lowered.pruneHistory(u.flags))).toBe(1);
    expect(await bodies()).toEqual([false, false, true, true]);
    expect(await storage.tx.run((u) => lowered.pruneHistory(u.flags))).toBe(0);
  });

  describe('the size cap', () => {
    const doc = (version: number, flags: Record<string, FlagState>) => JSON.stringify({ service: 'web', version, flags });
    const one = { f: flag('e', 'a') };

    it('a document of exactly the cap fits; one byte more is document_too_large, and nothing is stored', async () => {
      const exact = Buffer.byteLength(doc(1, one), 'utf8');
      const fits = service(storage, { maxDocumentBytes: exact, historyVersions: 10 });
      await fits.assertFits(storage.read.flags, 'e', new Map([['web', one]]));
      const tight = service(storage, { maxDocumentBytes: exact - 1, historyVersions: 10 });
      await expect(tight.assertFits(storage.read.flags, 'e', new Map([['web', one]]))).rejects.toMatchObject({ code: 'document_too_large' });
      await expect(write(storage, tight, 'e', { web: one })).rejects.toMatchObject({ code: 'document_too_large' });
      expect(await storage.read.flags.latest('web')).toBeUndefined();
      await write(storage, fits, 'e', { web: one });
      expect(fits.current('web')).toMatchObject({ version: 1, json: doc(1, one) });
    });

    it('a document already over a lowered cap may shrink or stay the same size, not grow; the kill switch may grow it', async () => {
      await write(storage, flags, 'e', { web: { f: flag('e', 'a'), g: flag('e', 'a') } });
      const lowered = service(storage, { maxDocumentBytes: 10, historyVersions: 10 });
      // Same size (one variant letter for another), version 1 -> 2.
      await write(storage, lowered, 'e', { web: { f: flag('e', 'b'), g: flag('e', 'a') } });
      await expect(write(storage, lowered, 'e', { web: { f: flag('e', 'b'), g: flag('e', 'a'), h: flag('e', 'a') } })).rejects.toMatchObject({ code: 'document_too_large' });
      await expect(lowered.assertFits(storage.read.flags, 'e', new Map([['web', { f: flag('e', 'bb'), g: flag('e', 'a') }]]))).rejects.toMatchObject({
        code: 'document_too_large',
      });
      await write(storage, lowered, 'e', { web: { f: flag('e', 'b') } });
      expect((await storage.read.flags.latest('web'))!.version).toBe(3);
      const paused = await storage.tx.run(async (u) => {
        const changes = await lowered.replaceExperiment(u.flags, 'e', ['web'], new Map([['web', { f: flag('e', 'bbbb') }]]), cause, { enforceCap: false });
        return changes;
      });
      expect(paused.map((c) => c.version)).toEqual([4]);
      await expect(lowered.replaceExperiment(storage.writer.flags, 'e', ['web'], new Map([['web', { f: flag('e', 'bbbbbb') }]]), cause, { enforceCap: true })).rejects.toMatchObject({
        code: 'document_too_large',
      });
    });
  });
});
