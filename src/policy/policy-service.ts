import fs from 'node:fs';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { PolicyStore } from '../storage/policy-store.js';
import type { Transactor } from '../storage/transactor.js';
import { parseBundle } from './policy-bundle.js';
import { describe, LoadedBundle, type PolicyEngine } from './policy-engine.js';
import { probeInput } from './policy-input.js';

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
      store: PolicyStore;
      audit: AuditLog;
      clock: Clock;
      tx: Transactor;
      logger: Logger;
    },
  ) {}

  /** Parses a bundle and proves it answers; throws policy_invalid (400) otherwise. Activates nothing. */
  async load(raw: Buffer): Promise<LoadedBundle> {
    const bundle = await parseBundle(raw);
    return LoadedBundle.load(bundle, probeInput(this.deps.clock.now()));
  }

  /** Stores the bundle, records the activation and swaps it in, all or nothing. */
  activate(loaded: LoadedBundle, actor: string): void {
    const at = this.deps.clock.now().toISOString();
    const b = loaded.bundle;
    this.deps.tx.run(() => {
      this.deps.store.saveBundle(
        { revision: b.revision, manifestRevision: b.manifestRevision, wasmSha256: b.wasmSha256, entrypoints: b.entrypoints, uploadedAt: at, uploadedBy: actor },
        b.raw,
      );
      this.deps.store.recordActivation({ revision: b.revision, activatedAt: at, activatedBy: actor });
      this.deps.audit.append({
        type: 'policy_activated',
        actor,
        data: { revision: b.revision, manifest_revision: b.manifestRevision, wasm_sha256: b.wasmSha256, previous: this.deps.engine.revision() },
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
    const active = this.deps.store.activeActivation();
    if (active) {
      const raw = this.deps.store.bundleRaw(active.revision);
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
      this.activate(loaded, 'bootstrap');
      log.info({ revision: loaded.revision, bundlePath }, 'policy bundle activated');
    } catch (err) {
      log.error({ err: new Error(describe(err)), bundlePath }, 'the policy bundle does not load; decisions will be denied');
    }
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

  info(): PolicyInfo {
    const loaded = this.deps.engine.current();
    const act = this.deps.store.activeActivation();
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
