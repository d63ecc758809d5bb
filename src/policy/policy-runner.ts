import * as opaWasm from '@open-policy-agent/opa-wasm';
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm';
import type { PolicyInput } from './policy-input.js';

export const DECISION_ENTRYPOINT = 'switchyard/decision';

/** A wasm page is 64 KiB: 5 to start (the SDK default), 2048 (128 MiB) at most per policy instance. */
export const MEMORY = { initial: 5, maximum: 2048 } as const;

/**
 * Where a bundle's wasm is instantiated and evaluated. On the main thread this is the
 * `PolicySandbox` (a worker thread called synchronously, with a deadline); inside a worker it is
 * the plain in-process runner below.
 */
export interface PolicyRunner {
  /** Instantiates the wasm with its data; resolves to the entrypoints it exports. */
  load(revision: string, wasm: Uint8Array, data: Record<string, unknown>): Promise<string[]>;
  /** The raw result set of the decision entrypoint; throws on any failure, `PolicyTimeoutError` included. */
  evaluate(revision: string, input: PolicyInput): unknown;
  /** Drops an instance no longer needed. */
  forget(revision: string): void;
}

/** The evaluation did not finish within its deadline (the sandbox was reset to stop it). */
export class PolicyTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the policy did not answer within ${timeoutMs} ms`);
    this.name = 'PolicyTimeoutError';
  }
}

/**
 * Evaluates on the calling thread. Nothing can interrupt a wasm call here, so it is only used where
 * the whole thread can be terminated: inside a worker.
 */
export class InProcessRunner implements PolicyRunner {
  private readonly policies = new Map<string, LoadedPolicy>();

  async load(revision: string, wasm: Uint8Array, data: Record<string, unknown>): Promise<string[]> {
    return this.keep(revision, await loadPolicy(wasm as unknown as ArrayBuffer, MEMORY), data);
  }

  /** The same, compiling synchronously: for the sandbox worker, whose thread never returns to its event loop. */
  loadSync(revision: string, wasm: Uint8Array, data: Record<string, unknown>): string[] {
    // Exported by the SDK's module object (its default export) but missing from its ESM typings.
    const sync = (opaWasm as unknown as { default: { loadPolicySync: (wasm: ArrayBuffer, memory: typeof MEMORY) => LoadedPolicy } }).default.loadPolicySync;
    return this.keep(revision, sync(wasm as unknown as ArrayBuffer, MEMORY), data);
  }

  private keep(revision: string, policy: LoadedPolicy, data: Record<string, unknown>): string[] {
    policy.setData(data);
    this.policies.set(revision, policy);
    return Object.keys((policy as unknown as { entrypoints: Record<string, number> }).entrypoints ?? {});
  }

  evaluate(revision: string, input: PolicyInput): unknown {
    const policy = this.policies.get(revision);
    if (!policy) throw new Error(`revision ${revision} is not loaded`);
    return policy.evaluate(input, DECISION_ENTRYPOINT);
  }

  forget(revision: string): void {
    this.policies.delete(revision);
  }
}
