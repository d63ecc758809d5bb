export interface StoredBundleMeta {
  revision: string;
  manifestRevision: string | null;
  wasmSha256: string;
  entrypoints: string[];
  uploadedAt: string;
  uploadedBy: string;
}

export interface ActivationRecord {
  revision: string;
  activatedAt: string;
  activatedBy: string;
}

/**
 * Every bundle ever activated is kept, so a decision can be replayed under the revision that made it.
 */
export interface PolicyReader {
  bundleRaw(revision: string): Promise<Buffer | undefined>;
  bundleMeta(revision: string): Promise<StoredBundleMeta | undefined>;
  /** The activation recorded last (the highest sequence), or undefined on a new database. */
  activeActivation(): Promise<ActivationRecord | undefined>;
}

export interface PolicyStore extends PolicyReader {
  /**
   * Upsert on revision: re-publishing a revision keeps the newer manifest revision, entrypoints and
   * bytes, and the first upload's time and actor.
   */
  saveBundle(meta: StoredBundleMeta, raw: Buffer): Promise<void>;
  /** Appends an activation; activations are ordered by insertion. */
  recordActivation(a: ActivationRecord): Promise<void>;
}
