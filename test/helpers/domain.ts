import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Actor } from '../../src/access/actor.js';
import { ManualClock, type Clock } from '../../src/clock.js';
import { createContainer, type Container, type ContainerOptions } from '../../src/container.js';
import { SwitchyardError } from '../../src/errors.js';
import { compileFlag } from '../../src/evaluation/index.js';
import type { FlagState } from '../../src/evaluation/types.js';
import { createLogger } from '../../src/logger.js';
import type { TelemetryEvent } from '../../src/telemetry/telemetry-service.js';
import { simpleIntent } from './harness.js';
import { BUNDLE_PATH } from './paths.js';
import { errorEvents } from './rollout-telemetry.js';

/**
 * The domain without HTTP (issue #17 item 3): the container main.ts builds, on a temp SQLite file,
 * with the real compiled policy and a ManualClock. Tests drive `c.intents` and `c.lifecycle`
 * directly, and every call is awaited, so they stay valid when the storage port makes the domain
 * asynchronous (#15). Stores are reached only through the container.
 */
export interface Domain {
  c: Container;
  clock: ManualClock;
  dir: string;
  close(): Promise<void>;
}

export const START = '2026-11-25T12:00:00Z';

export async function openDomain(opts: { bundlePath?: string; storage?: ContainerOptions['storage'] } = {}): Promise<Domain> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-domain-'));
  const clock = new ManualClock(START);
  const quiet = new Writable({ write: (_c, _e, cb) => cb() });
  const c = await createContainer({
    dbPath: path.join(dir, 'db.sqlite'),
    policyBundlePath: opts.bundlePath ?? BUNDLE_PATH,
    clock: clock as Clock,
    logger: createLogger('silent', quiet),
    ...(opts.storage ? { storage: opts.storage } : {}),
  });
  return {
    c,
    clock,
    dir,
    async close() {
      await c.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function actor(name: string, role: Actor['role'], extra: Partial<Actor> = {}): Actor {
  return { tokenId: `tok_${name}`, name, role, team: null, approvalRoles: [], service: null, ...extra };
}

/** The people the domain tests act as: what a token of each role resolves to. */
export const people = {
  /** Owner of team growth; submits every intent in these tests. */
  alice: actor('alice', 'owner', { team: 'growth' }),
  /** Owner of another team. */
  bob: actor('bob', 'owner', { team: 'crm' }),
  /** Approver for sre. */
  sam: actor('sam', 'approver', { approvalRoles: ['sre'] }),
  /** A second sre approver. */
  sasha: actor('sasha', 'approver', { approvalRoles: ['sre'] }),
  /** Approver for privacy only. */
  priya: actor('priya', 'approver', { approvalRoles: ['privacy'] }),
  /** Approver for both roles. */
  pat: actor('pat', 'approver', { approvalRoles: ['sre', 'privacy'] }),
  oscar: actor('oscar', 'operator'),
  root: actor('root', 'admin'),
  /** Any name as an sre approver (the same person under other spellings). */
  approver: (name: string, roles = ['sre']) => actor(name, 'approver', { approvalRoles: roles }),
};

export const flagOf = (key: string) => `${key.replace(/-/g, '_')}_flag`;

/** An intent on one `critical` service (checkout-api): the shipped policy asks 1 sre approval. */
export function criticalIntent(key: string, overrides: Record<string, unknown> = {}) {
  return simpleIntent(key, { services: [{ service: 'checkout-api', flag: flagOf(key) }], exposure: 2, ...overrides });
}

/** An intent on one `standard` service (web): approved at once. */
export function webIntent(key: string, overrides: Record<string, unknown> = {}) {
  return simpleIntent(key, { services: [{ service: 'web', flag: flagOf(key) }], ...overrides });
}

/** The code of the SwitchyardError `fn` throws (status too), or `accepted` if it throws none. */
export async function outcomeOf(fn: () => unknown): Promise<{ code: string; status: number } | 'accepted'> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof SwitchyardError) return { code: err.code, status: err.status };
    throw err;
  }
  return 'accepted';
}

/** The SwitchyardError `fn` throws (sync or async); fails the test if it throws none or something else. */
export async function errorOf(fn: () => unknown): Promise<SwitchyardError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof SwitchyardError) return err;
    throw err;
  }
  throw new Error('expected a refusal, but it was accepted');
}

/** The code of the refusal `fn` throws; fails the test if it is accepted or throws something else. */
export async function refusalOf(fn: () => unknown): Promise<string> {
  const o = await outcomeOf(fn);
  if (o === 'accepted') throw new Error('expected a refusal, but it was accepted');
  return o.code;
}

/** The flag `flag` of `service`'s current document (undefined when the document has none). */
export async function flagIn(c: Container, service: string, flag: string): Promise<Record<string, any> | undefined> {
  const doc = JSON.parse(c.flags.current(service).json) as { flags: Record<string, Record<string, any>> };
  return doc.flags[flag];
}

/** The current version of `service`'s document. */
export async function docVersion(c: Container, service: string): Promise<number> {
  return c.flags.current(service).version;
}

/** The audit events of one experiment, oldest first. */
export async function auditOf(c: Container, key: string) {
  return await c.audit.query({ experiment: key, limit: 1000 });
}

/**
 * Ingests, through the real telemetry service, `error_rate` telemetry (errorEvents of
 * rollout-telemetry.ts, timed now) for the units the document `recommendations` serves now exposes
 * for `key`'s flag, placed as SPEC §6 places them; throws unless every event is accepted.
 */
export async function ingestErrorRates(d: Domain, key: string, opts: { units: number; base: number; ratio: number; seed: number; prefix: string }): Promise<void> {
  const flag = flagOf(key);
  const doc = JSON.parse(d.c.flags.current('recommendations').json) as { flags: Record<string, FlagState> };
  const compiled = compileFlag(flag, doc.flags[flag]!);
  const events = errorEvents({ ...opts, flag, place: (u) => compiled.place(u), at: d.clock.now().toISOString() }) as unknown as TelemetryEvent[];
  for (let i = 0; i < events.length; i += 5000) {
    const r = await d.c.telemetry.ingest('recommendations', events.slice(i, i + 5000));
    if (r.rejected.length > 0 || r.assignment_mismatches !== 0) throw new Error(`telemetry refused: ${JSON.stringify(r).slice(0, 500)}`);
  }
}
