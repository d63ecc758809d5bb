import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { firstFit, layerRoom } from '../../../src/flags/layer-allocator.js';
import type { Intent } from '../../../src/intents/intent-schema.js';
import type { IntentReader, IntentStore, VersionStatus } from '../../../src/intents/intent-store.js';
import { openSqliteStorage, type SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.js';

const L = 'lay';
const AT = '2026-11-25T12:00:00.000Z';

/**
 * Each IntentStore write on its own (on a real SQLite file through the adapter, autocommitted and
 * inside units): the adapter's kept layer room and first fit answer, right after it, what the rows
 * say, through the unit's store inside a unit and through the read connection outside one. In the services
 * these writes come in groups that name the same experiment, so this is where one write that
 * forgets to name its experiment is caught.
 */
describe('IntentStore keeps each layer room in step with each write', () => {
  let dir: string;
  let storage: SqliteStorage;
  /** Writes: the writer-bound store (autocommitted outside a unit, as the old store's were). */
  let store: IntentStore;
  /** Reads outside any unit: the read connection. */
  let read: IntentReader;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-layers-'));
    storage = openSqliteStorage({ path: path.join(dir, 'db.sqlite') });
    store = storage.writer.intents;
    read = storage.read.intents;
  });
  afterEach(async () => {
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const intent = (key: string, exposure: number): Intent =>
    ({ key, owner: 'growth', unit: 'user_id', services: [{ service: 'web', flag: `${key}_f` }], variants: [], exposure, audience: [], data_access: [], layer: L }) as unknown as Intent;
  const version = (key: string, v: number, exposure: number, status: VersionStatus, slice: { start: number; end: number } | null) =>
    store.insertVersion({ key, version: v, intent: intent(key, exposure), status, decisionId: null, slice, submittedBy: 'alice', submittedAt: AT });

  /** The kept answers equal the ones computed from the rows, for every experiment and a new one. */
  const inStep = async (step: string, via: IntentReader = read) => {
    for (const key of ['new-one', 'k1', 'k2']) {
      const claims = await via.liveLayerClaims(key, L);
      expect(await via.layerRoom(key, L), `${step}, for ${key}`).toEqual(layerRoom(L, claims));
      const slices = claims.flatMap((c) => (c.start !== undefined && c.end !== undefined ? [{ start: c.start, end: c.end }] : []));
      for (const size of [1, 150, 9_700]) expect(await via.layerFirstFit(key, L, size), `${step}, first fit ${size} for ${key}`).toEqual(firstFit(slices, size));
    }
  };

  const script = async (wrap: (fn: () => Promise<unknown>) => Promise<void>) => {
    await inStep('empty');
    await store.createExperiment('k1', 'growth', AT);
    await wrap(() => version('k1', 1, 1, 'approved', { start: 0, end: 100 }));
    await inStep('insertVersion (the current version 1)');
    await wrap(() => store.setSlice('k1', 1, { start: 200, end: 300 }));
    await inStep('setSlice');
    await wrap(() => store.setStatus('k1', 1, 'pending_approval'));
    await inStep('setStatus');
    await wrap(() => version('k1', 2, 2, 'approved', { start: 400, end: 600 }));
    await inStep('insertVersion (not current yet)');
    await wrap(() => store.setCurrentVersion('k1', 2, 'growth', AT));
    await inStep('setCurrentVersion');
    await wrap(() => store.setActive('k1', 2, 'running', null, AT));
    await inStep('setActive (running)');
    await wrap(() => store.setActive('k1', null, 'draft', null, AT));
    await inStep('setActive (back to draft)');
    await wrap(() => store.retire('k1', 2, AT));
    await inStep('retire');
    await store.createExperiment('k2', 'growth', AT);
    await wrap(() => version('k2', 1, 3, 'pending_approval', { start: 1000, end: 1300 }));
    await inStep('insertVersion k2');
    await wrap(() => store.archive('k2', AT));
    await inStep('archive');
  };

  it('autocommitted writes', () => script(async (fn) => void (await fn())));

  it('writes in units, each read inside one too', () =>
    script((fn) =>
      storage.tx.run(async (u) => {
        await fn();
        await inStep('inside the unit', u.intents);
      }),
    ));

  it('more layers than it keeps: a dropped layer is read again, changes made while it was dropped included', async () => {
    const room = async (key: string, layer: string) => expect(await read.layerRoom(key, layer), `${key} in ${layer}`).toEqual(layerRoom(layer, await read.liveLayerClaims(key, layer)));
    const inLayer = async (key: string, layer: string, slice: { start: number; end: number }) => {
      await store.createExperiment(key, 'growth', AT);
      await store.insertVersion({ key, version: 1, intent: { ...intent(key, 1), layer }, status: 'approved', decisionId: null, slice, submittedBy: 'alice', submittedAt: AT });
    };
    for (let i = 0; i < 300; i++) {
      await inLayer(`m-${i}`, `l-${i}`, { start: i, end: i + 100 });
      await room('new-one', `l-${i}`);
    }
    // l-0 was dropped long ago; its member moves, then it is asked again.
    await store.setSlice('m-0', 1, { start: 9000, end: 9100 });
    await room('new-one', 'l-0');
    await room('m-0', 'l-0');
    await inLayer('m-0b', 'l-0', { start: 0, end: 50 });
    await room('new-one', 'l-0');
  });

  it('a rolled-back write leaves the room as committed', async () => {
    await store.createExperiment('k1', 'growth', AT);
    await version('k1', 1, 1, 'approved', { start: 0, end: 100 });
    await inStep('committed');
    const committed = await read.layerRoom('new-one', L);
    await expect(
      storage.tx.run(async (u) => {
        await u.intents.setSlice('k1', 1, { start: 5000, end: 5100 });
        await inStep('inside', u.intents);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await read.layerRoom('new-one', L)).toEqual(committed);
    await storage.tx.run((u) => inStep('in the next unit', u.intents));
    await inStep('after');
  });
});
