import type { ActivationRecord, PolicyStore, StoredBundleMeta } from '../../policy/policy-store.js';
import type { Database } from './database.js';

/**
 * Every bundle ever activated is kept, so a decision can be replayed under the revision that made it.
 * A revision is the wasm and data; re-publishing it with another .manifest keeps the newer bytes, so
 * the manifest shown after a restart is the one last published (the first upload's time and actor stay).
 */
export class SqlitePolicyStore implements PolicyStore {
  private readonly stmts;

  constructor(db: Database) {
    this.stmts = {
      insertBundle: db.prepare(
        `INSERT INTO policy_bundles (revision, manifest_revision, wasm_sha256, entrypoints, raw, uploaded_at, uploaded_by)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (revision) DO UPDATE SET manifest_revision = excluded.manifest_revision, entrypoints = excluded.entrypoints, raw = excluded.raw`,
      ),
      raw: db.prepare<[string], { raw: Buffer }>('SELECT raw FROM policy_bundles WHERE revision = ?'),
      meta: db.prepare<[string], { revision: string; manifest_revision: string | null; wasm_sha256: string; entrypoints: string; uploaded_at: string; uploaded_by: string }>(
        'SELECT revision, manifest_revision, wasm_sha256, entrypoints, uploaded_at, uploaded_by FROM policy_bundles WHERE revision = ?',
      ),
      activate: db.prepare('INSERT INTO policy_activations (revision, activated_at, activated_by) VALUES (?, ?, ?)'),
      active: db.prepare<[], { revision: string; activated_at: string; activated_by: string }>(
        'SELECT revision, activated_at, activated_by FROM policy_activations ORDER BY seq DESC LIMIT 1',
      ),
    };
  }

  async saveBundle(meta: StoredBundleMeta, raw: Buffer): Promise<void> {
    this.stmts.insertBundle.run(meta.revision, meta.manifestRevision, meta.wasmSha256, JSON.stringify(meta.entrypoints), raw, meta.uploadedAt, meta.uploadedBy);
  }

  async bundleRaw(revision: string): Promise<Buffer | undefined> {
    return this.stmts.raw.get(revision)?.raw;
  }

  async bundleMeta(revision: string): Promise<StoredBundleMeta | undefined> {
    const r = this.stmts.meta.get(revision);
    return r
      ? { revision: r.revision, manifestRevision: r.manifest_revision, wasmSha256: r.wasm_sha256, entrypoints: JSON.parse(r.entrypoints) as string[], uploadedAt: r.uploaded_at, uploadedBy: r.uploaded_by }
      : undefined;
  }

  async recordActivation(a: ActivationRecord): Promise<void> {
    this.stmts.activate.run(a.revision, a.activatedAt, a.activatedBy);
  }

  async activeActivation(): Promise<ActivationRecord | undefined> {
    const r = this.stmts.active.get();
    return r ? { revision: r.revision, activatedAt: r.activated_at, activatedBy: r.activated_by } : undefined;
  }
}
