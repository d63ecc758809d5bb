import fs from 'node:fs';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import canonicalizeModule from 'canonicalize';
import { NotFoundError, SwitchyardError } from '../errors.js';
import type { ReadStores, UnitOfWork } from '../unit-of-work.js';
import { impactCases, type ImpactReport } from './policy-impact.js';
import { parseBundle } from './policy-bundle.js';
import { dataChanges, type DataChange } from './policy-data-diff.js';
import type { PolicyChecks } from './policy-sandbox.js';
import { describe, evaluateWith, LoadedBundle, type PolicyEngine } from './policy-engine.js';
import { probeInput, type PolicyInput } from './policy-input.js';

const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/** The `data` of a `policy_activated` audit event (the console's governance views read it). */
export interface PolicyActivatedData {
  revision: string;
  manifest_revision: string | null;
  wasm_sha256: string;
  /** The revision it replaced; null for the first. */
  previous: string | null;
  /** Present when the publish computed an impact (not at startup). */
  impact?: { evaluated: number; changed: number; would_deny: number };
}

export interface PublishResult {
  dry_run: boolean;
  activated: boolean;
  revision: string;
  previous_revision: string | null;
  impact: ImpactReport;
  /** What the candidate's data document changes against the active revision's (issue #18; an addition to SPEC §7). */
  data_changes: DataChange[];
  /** Changes past DATA_CHANGES_LIMIT, left out of `data_changes`. */
  data_changes_omitted: number;
}

export interface ReplayResult {
  decision_id: string;
  policy_revision: string;
  matches: boolean;
  original: unknown;
  replayed: unknown;
}

export interface PolicyInfo {
  revision: string | null;
  manifest_revision: string | null;
  wasm_sha256: string | null;
  entrypoints: string[];
  loaded_at: string | null;
  activated_by: string | null;
  services: string[];
}

/** Loading, validating, activating and remembering policy bundles. */
export class PolicyService {
  constructor(
    private readonly deps: {
      engine: PolicyEngine;
      read: Pick<ReadStores, 'policies' | 'decisions'>;
      audit: AuditLog;
      clock: Clock;
      tx: UnitOfWork;
      logger: Logger;
      /** Runs the publish checks (load, probe, impact) in a worker with a deadline. */
      checks: PolicyChecks;
    },
  ) {}

  /**
   * Parses a bundle, loads it into the engine's sandbox and proves it answers a probe within the
   * decision deadline; throws policy_invalid (400) or policy_timeout (422) otherwise. Activates nothing.
   */
  async load(raw: Buffer): Promise<LoadedBundle> {
    const bundle = await parseBundle(raw);
    return LoadedBundle.load(bundle, probeInput(this.deps.clock.now()), this.deps.engine.runner);
  }

  /** Stores the bundle, records the activation and swaps it in, all or nothing. */
  async activate(loaded: LoadedBundle, actor: string, impact?: ImpactReport): Promise<void> {
    const at = this.deps.clock.now().toISOString();
    const b = loaded.bundle;
    await this.deps.tx.run(async (u) => {
      await u.policies.saveBundle(
        { revision: b.revision, manifestRevision: b.manifestRevision, wasmSha256: b.wasmSha256, entrypoints: b.entrypoints, uploadedAt: at, uploadedBy: actor },
        b.raw,
      );
      await u.policies.recordActivation({ revision: b.revision, activatedAt: at, activatedBy: actor });
      await this.deps.audit.append(u, {
        type: 'policy_activated',
        actor,
        data: {
          revision: b.revision,
          manifest_revision: b.manifestRevision,
          wasm_sha256: b.wasmSha256,
          previous: this.deps.engine.revision(),
          ...(impact ? { impact: { evaluated: impact.evaluated, changed: impact.changed, would_deny: impact.would_deny } } : {}),
        } satisfies PolicyActivatedData,
      });
    });
    this.deps.engine.activate(loaded);
  }

  /**
   * At start: the revision last activated in the database wins (it survives restarts); on a new
   * database the configured bundle file is activated. Without either the engine stays empty and
   * every decision fails closed.
   */
  async boot(bundlePath: string): Promise<void> {
    const log = this.deps.logger;
    const active = await this.deps.read.policies.activeActivation();
    if (active) {
      const raw = await this.deps.read.policies.bundleRaw(active.revision);
      try {
        const loaded = await this.load(raw!);
        this.deps.engine.activate(loaded);
        log.info({ revision: loaded.revision }, 'policy loaded from the database');
        this.warnIfFileDiffers(bundlePath, loaded.revision);
        return;
      } catch (err) {
        log.error({ err: new Error(describe(err)), revision: active.revision }, 'the active policy in the database does not load; decisions will be denied');
        return;
      }
    }
    if (!fs.existsSync(bundlePath)) {
      log.error({ bundlePath }, 'no policy bundle: run `make policies`; every decision is denied until one is published');
      return;
    }
    try {
      const loaded = await this.load(fs.readFileSync(bundlePath));
      await this.activate(loaded, 'bootstrap');
      log.info({ revision: loaded.revision, bundlePath }, 'policy bundle activated');
    } catch (err) {
      log.error({ err: new Error(describe(err)), bundlePath }, 'the policy bundle does not load; decisions will be denied');
    }
  }

  /**
   * PUT /v1/policy: the candidate must load and answer a probe; its impact on every live experiment
   * is computed; unless this is a dry run it is then stored and activated atomically. A candidate
   * that fails validation throws policy_invalid and the active policy stays.
   */
  async publish(raw: Buffer, actor: string, dryRun: boolean): Promise<PublishResult> {
    const bundle = await parseBundle(raw);
    const active = this.deps.engine.current();
    const previous = active?.revision ?? null;
    // The candidate's first run is the untrusted one: in a worker, with a deadline, off this thread.
    this.deps.logger.info({ revision: bundle.revision, dryRun }, 'checking a policy bundle in a worker');
    // The live versions and their inputs are read here, in one unit (a consistent view); the worker opens no database.
    const now = this.deps.clock.now();
    const cases = await this.deps.tx.run((u) => impactCases(u, now));
    const impact = await this.deps.checks.run(bundle, now, previous, cases);
    const data = dataChanges(active?.bundle.data ?? {}, bundle.data);
    if (!dryRun) {
      const candidate = await LoadedBundle.load(bundle, probeInput(this.deps.clock.now()), this.deps.engine.runner);
      await this.activate(candidate, actor, impact);
    }
    return {
      dry_run: dryRun,
      activated: !dryRun,
      revision: bundle.revision,
      previous_revision: previous,
      impact,
      data_changes: data.changes,
      data_changes_omitted: data.omitted,
    };
  }

  /** At shutdown: publish checks in flight are stopped so the drain does not wait for them. */
  stop(): void {
    this.deps.checks.abortAll(() => new SwitchyardError('shutting_down', 'The server is shutting down; the policy bundle was not checked, publish it again'));
  }

  /** Re-evaluates a stored decision's input under the revision that made it, loaded from the database. */
  async replay(decisionId: string): Promise<ReplayResult> {
    const d = await this.deps.read.decisions.get(decisionId);
    if (!d) throw new NotFoundError('decision_not_found', `No decision with id ${decisionId}`);
    let loaded = this.deps.engine.loaded(d.policyRevision);
    if (!loaded) {
      const raw = await this.deps.read.policies.bundleRaw(d.policyRevision);
      if (raw) {
        loaded = await this.load(raw);
        this.deps.engine.remember(loaded);
      }
    }
    const replayed = evaluateWith(loaded ?? null, d.input as PolicyInput, this.deps.logger).decision;
    return {
      decision_id: d.id,
      policy_revision: d.policyRevision,
      matches: canonicalize(replayed) === canonicalize(d.result),
      original: d.result,
      replayed,
    };
  }

  private warnIfFileDiffers(bundlePath: string, revision: string): void {
    if (!fs.existsSync(bundlePath)) return;
    void parseBundle(fs.readFileSync(bundlePath))
      .then((b) => {
        if (b.revision !== revision) {
          this.deps.logger.warn(
            { active: revision, file: b.revision, bundlePath },
            'the bundle file differs from the active policy; publish it with `make policy-publish` to use it',
          );
        }
      })
      .catch(() => undefined);
  }

  async info(): Promise<PolicyInfo> {
    const loaded = this.deps.engine.current();
    const act = await this.deps.read.policies.activeActivation();
    return {
      revision: loaded?.revision ?? null,
      manifest_revision: loaded?.bundle.manifestRevision ?? null,
      wasm_sha256: loaded?.bundle.wasmSha256 ?? null,
      entrypoints: loaded?.bundle.entrypoints ?? [],
      loaded_at: act && loaded && act.revision === loaded.revision ? act.activatedAt : null,
      activated_by: act && loaded && act.revision === loaded.revision ? act.activatedBy : null,
      services: this.deps.engine.catalog().services(),
    };
  }
}
