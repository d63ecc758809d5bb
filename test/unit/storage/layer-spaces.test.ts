import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { firstFit, layerRoom } from '../../../src/flags/layer-allocator.js';
import type { Intent } from '../../../src/intents/intent-schema.js';
import { openDatabase, type Database } from '../../../src/storage/database.js';
import { IntentStore, type VersionStatus } from '../../../src/storage/intent-store.js';

const L = 'lay';
const AT = '2026-11-25T12:00:00.000Z';

/**
 * Each IntentStore write on its own (on a real SQLite file, outside and inside a transaction): the
 * store's kept layer room and first fit answer, right after it, what the rows say. In the services
 * these writes come in groups that name the same experiment, so this is where one write that
 * forgets to name its experiment is caught.
 */
describe('IntentStore keeps each layer room in step with each write', () => {
  let dir: string;
  let db: Database;
  let store: IntentStore;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-layers-'));
    db = openDatabase({ path: path.join(dir, 'db.sqlite') });
    store = new IntentStore(db);
  });
  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const intent = (key: string, exposure: number): Intent =>
    ({ key, owner: 'growth', unit: 'user_id', services: [{ service: 'web', flag: `${key}_f` }], variants: [], exposure, audience: [], data_access: [], layer: L }) as unknown as Intent;
  const version = (key: string, v: number, exposure: number, status: VersionStatus, slice: { start: number; end: number } | null) =>
    store.insertVersion({ key, version: v, intent: intent(key, exposure), status, decisionId: null, slice, submittedBy: 'alice', submittedAt: AT });

  /** The kept answers equal the ones computed from the rows, for every experiment and a new one. */
  const inStep = (step: string) => {
    for (const key of ['new-one', 'k1', 'k2']) {
      const claims = store.liveLayerClaims(key, L);
      expect(store.layerRoom(key, L), `${step}, for ${key}`).toEqual(layerRoom(L, claims));
      const slices = claims.flatMap((c) => (c.start !== undefined && c.end !== undefined ? [{ start: c.start, end: c.end }] : []));
      for (const size of [1, 150, 9_700]) expect(store.layerFirstFit(key, L, size), `${step}, first fit ${size} for ${key}`).toEqual(firstFit(slices, size));
    }
  };

  const script = (wrap: (fn: () => void) => void) => {
    inStep('empty');
    store.createExperiment('k1', 'growth', AT);
    wrap(() => version('k1', 1, 1, 'approved', { start: 0, end: 100 }));
    inStep('insertVersion (the current version 1)');
    wrap(() => store.setSlice('k1', 1, { start: 200, end: 300 }));
    inStep('setSlice');
    wrap(() => store.setStatus('k1', 1, 'pending_approval'));
    inStep('setStatus');
    wrap(() => version('k1', 2, 2, 'approved', { start: 400, end: 600 }));
    inStep('insertVersion (not current yet)');
    wrap(() => store.setCurrentVersion('k1', 2, 'growth', AT));
    inStep('setCurrentVersion');
    wrap(() => store.setActive('k1', 2, 'running', null, AT));
    inStep('setActive (running)');
    wrap(() => store.setActive('k1', null, 'draft', null, AT));
    inStep('setActive (back to draft)');
    wrap(() => store.retire('k1', 2, AT));
    inStep('retire');
    store.createExperiment('k2', 'growth', AT);
    wrap(() => version('k2', 1, 3, 'pending_approval', { start: 1000, end: 1300 }));
    inStep('insertVersion k2');
    wrap(() => store.archive('k2', AT));
    inStep('archive');
  };

  it('autocommitted writes', () => script((fn) => fn()));

  it('writes in transactions, each read inside one too', () => script((fn) => db.transaction(() => {
    fn();
    inStep('inside the transaction');
  })()));

  it('more layers than it keeps: a dropped layer is read again, changes made while it was dropped included', () => {
    const room = (key: string, layer: string) => expect(store.layerRoom(key, layer), `${key} in ${layer}`).toEqual(layerRoom(layer, store.liveLayerClaims(key, layer)));
    const inLayer = (key: string, layer: string, slice: { start: number; end: number }) => {
      store.createExperiment(key, 'growth', AT);
      store.insertVersion({ key, version: 1, intent: { ...intent(key, 1), layer }, status: 'approved', decisionId: null, slice, submittedBy: 'alice', submittedAt: AT });
    };
    for (let i = 0; i < 300; i++) {
      inLayer(`m-${i}`, `l-${i}`, { start: i, end: i + 100 });
      room('new-one', `l-${i}`);
    }
    // l-0 was dropped long ago; its member moves, then it is asked again.
    store.setSlice('m-0', 1, { start: 9000, end: 9100 });
    room('new-one', 'l-0');
    room('m-0', 'l-0');
    inLayer('m-0b', 'l-0', { start: 0, end: 50 });
    room('new-one', 'l-0');
  });

  it('a rolled-back write leaves the room as committed', () => {
    store.createExperiment('k1', 'growth', AT);
    version('k1', 1, 1, 'approved', { start: 0, end: 100 });
    inStep('committed');
    const committed = store.layerRoom('new-one', L);
    expect(() =>
      db.transaction(() => {
        store.setSlice('k1', 1, { start: 5000, end: 5100 });
        inStep('inside');
        throw new Error('abort');
      })(),
    ).toThrow('abort');
    expect(store.layerRoom('new-one', L)).toEqual(committed);
    db.transaction(() => inStep('in the next transaction'))();
    inStep('after');
  });
});
