import { MessageChannel, Worker, type MessagePort, type TransferListItem } from 'node:worker_threads';
import { PolicyError, SwitchyardError, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PolicyBundle } from './policy-bundle.js';
import { timedOut } from './policy-engine.js';
import type { ImpactCase, ImpactReport } from './policy-impact.js';
import type { PolicyInput } from './policy-input.js';
import { PolicyTimeoutError, type PolicyRunner } from './policy-runner.js';
import {
  CTL_DONE,
  CTL_DOORBELL,
  CTL_LENGTH,
  CTL_STATUS,
  STATUS_OK,
  WORKER_MARK,
  type CheckJob,
  type CheckReply,
  type EvaluatorReply,
  type EvaluatorRequest,
} from './policy-worker.js';

/**
 * Starts the worker script: compiled JavaScript in dist/; under the test runner, which runs the
 * TypeScript source, the worker imports the source through tsx (workers do not inherit vitest's
 * transform).
 */
function startWorker(workerData: unknown, transferList?: TransferListItem[]): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./policy-worker.js', import.meta.url), { workerData, transferList });
  const source = new URL('./policy-worker.ts', import.meta.url).href;
  return new Worker(`import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(source)}, ${JSON.stringify(source)}))`, {
    eval: true,
    workerData,
    transferList,
  });
}

/** Room for one decision's JSON answer; a larger answer fails closed (decisions are a few KiB). */
const ANSWER_BYTES = 1024 * 1024;
/** How long the caller spins for an answer before it parks in `Atomics.wait` (see `evaluate`). */
const SPIN_MS = 0.25;
/** How long a freshly started worker may take to boot and instantiate its revisions, on top of the deadline. */
const BOOT_ALLOWANCE_MS = 10_000;

export interface SandboxOptions {
  /** The deadline of one evaluation (SWITCHYARD_POLICY_TIMEOUT_MS). */
  timeoutMs: number;
  /** The deadline of loading a revision into the worker. */
  loadTimeoutMs: number;
  logger: Logger;
}

/**
 * Evaluates policy wasm in a dedicated worker thread, called synchronously: the caller posts the
 * input and blocks in `Atomics.wait` on a SharedArrayBuffer for at most the deadline. So decisions
 * keep their place inside the SQLite transaction that read their live context, and a policy that
 * never returns costs the main thread one deadline: the worker is then terminated, a fresh one is
 * started with the same revisions, and the caller gets a `PolicyTimeoutError` (a fail-closed denial).
 */
export class PolicySandbox implements PolicyRunner {
  private worker!: Worker;
  private port!: MessagePort;
  private ctl!: Int32Array;
  private out!: Uint8Array;
  /** True until the current worker has answered once: its first answer may include its boot. */
  private fresh = true;
  private seq = 0;
  private closed = false;
  private readonly revisions = new Map<string, { wasm: Uint8Array; data: Record<string, unknown> }>();
  private readonly pending = new Map<number, { resolve: (e: string[]) => void; reject: (err: Error) => void }>();
  private readonly decoder = new TextDecoder();

  constructor(private readonly opts: SandboxOptions) {
    this.spawn();
  }

  private spawn(): void {
    // New shared memory per worker: a terminated worker's late write can never be read as an answer.
    const ctl = new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT);
    const out = new SharedArrayBuffer(ANSWER_BYTES);
    this.ctl = new Int32Array(ctl);
    this.out = new Uint8Array(out);
    this.fresh = true;
    const { port1, port2 } = new MessageChannel();
    const worker = startWorker({ mode: 'evaluator', ctl, out, port: port2, [WORKER_MARK]: true }, [port2]);
    worker.unref();
    port1.unref();
    port1.on('message', (reply: EvaluatorReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.kind === 'loaded') p.resolve(reply.entrypoints);
      else p.reject(new Error(reply.message));
    });
    worker.on('error', (err) => this.opts.logger.error({ err }, 'the policy worker failed'));
    worker.on('exit', () => {
      if (worker !== this.worker || this.closed) return;
      this.opts.logger.warn('the policy worker exited; starting another');
      this.restart();
    });
    this.worker = worker;
    this.port = port1;
    for (const [revision, r] of this.revisions) this.post({ kind: 'load', id: this.nextId(), revision, wasm: r.wasm, data: r.data });
  }

  private restart(): void {
    const old = this.worker;
    this.port.close();
    for (const p of this.pending.values()) p.reject(new Error('the policy worker was restarted'));
    this.pending.clear();
    this.spawn();
    void old.terminate();
  }

  private nextId(): number {
    this.seq = this.seq >= 0x7fffffff ? 1 : this.seq + 1;
    return this.seq;
  }

  private post(msg: EvaluatorRequest): void {
    this.port.postMessage(msg);
    Atomics.add(this.ctl, CTL_DOORBELL, 1);
    Atomics.notify(this.ctl, CTL_DOORBELL);
  }

  load(revision: string, wasm: Uint8Array, data: Record<string, unknown>): Promise<string[]> {
    const id = this.nextId();
    return new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.restart();
        reject(new PolicyTimeoutError(this.opts.loadTimeoutMs));
      }, this.opts.loadTimeoutMs + (this.fresh ? BOOT_ALLOWANCE_MS : 0));
      this.pending.set(id, {
        resolve: (entrypoints) => {
          clearTimeout(timer);
          this.revisions.set(revision, { wasm, data });
          resolve(entrypoints);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      this.post({ kind: 'load', id, revision, wasm, data });
    });
  }

  evaluate(revision: string, input: PolicyInput): unknown {
    if (this.closed) throw new Error('the policy sandbox is closed');
    const id = this.nextId();
    this.post({ kind: 'eval', id, revision, input });
    const deadline = performance.now() + this.opts.timeoutMs + (this.fresh ? BOOT_ALLOWANCE_MS : 0);
    // Most decisions answer within a spin: waking a thread parked on a futex costs tens of
    // microseconds on an idle VM, more than the evaluation. The spin is bounded; past it, wait.
    const spinUntil = performance.now() + SPIN_MS;
    while (Atomics.load(this.ctl, CTL_DONE) !== id && performance.now() < spinUntil);
    for (;;) {
      const done = Atomics.load(this.ctl, CTL_DONE);
      if (done === id) break;
      const left = deadline - performance.now();
      if (left <= 0 || Atomics.wait(this.ctl, CTL_DONE, done, left) === 'timed-out') {
        if (Atomics.load(this.ctl, CTL_DONE) === id) break;
        this.opts.logger.warn({ revision, timeoutMs: this.opts.timeoutMs }, 'policy evaluation passed its deadline; restarting the policy worker');
        this.restart();
        throw new PolicyTimeoutError(this.opts.timeoutMs);
      }
    }
    this.fresh = false;
    const text = this.decoder.decode(this.out.slice(0, Atomics.load(this.ctl, CTL_LENGTH)));
    if (Atomics.load(this.ctl, CTL_STATUS) !== STATUS_OK) throw new Error(text);
    return JSON.parse(text) as unknown;
  }

  forget(revision: string): void {
    this.revisions.delete(revision);
    this.post({ kind: 'forget', revision });
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error('the policy sandbox is closed'));
    this.pending.clear();
    this.port.close();
    void this.worker.terminate();
  }
}

export interface CheckOptions {
  /** The deadline of the whole check: load, probe and impact (SWITCHYARD_POLICY_CHECK_TIMEOUT_MS). */
  timeoutMs: number;
}

/**
 * The publish checks off the main thread: a one-shot worker loads the candidate, probes it and
 * re-evaluates every live experiment under it (the cases the caller read and hands it: the worker
 * opens no database), within a deadline; past it the worker is terminated and the candidate refused with `policy_timeout`.
 */
export class PolicyChecks {
  private readonly running = new Set<{ worker: Worker; reject: (err: Error) => void }>();

  constructor(private readonly opts: CheckOptions) {}

  run(bundle: PolicyBundle, now: Date, activeRevision: string | null, cases: ImpactCase[]): Promise<ImpactReport> {
    const { raw: _raw, ...rest } = bundle;
    const job: CheckJob = { mode: 'check', bundle: rest, nowMs: now.getTime(), cases, activeRevision };
    const worker = startWorker({ ...job, [WORKER_MARK]: true });
    return new Promise<ImpactReport>((resolve, reject) => {
      let stage: 'load and answer a probe intent' | 'finish the impact analysis of the live experiments' = 'load and answer a probe intent';
      const entry = { worker, reject: (err: Error) => settle(() => reject(err)) };
      const settle = (then: () => void) => {
        if (!this.running.delete(entry)) return;
        clearTimeout(timer);
        void worker.terminate();
        then();
      };
      this.running.add(entry);
      const timer = setTimeout(() => settle(() => reject(timedOut(stage, this.opts.timeoutMs))), this.opts.timeoutMs);
      worker.on('message', (reply: CheckReply) => {
        if (reply.kind === 'stage') stage = 'finish the impact analysis of the live experiments';
        else if (reply.kind === 'done') settle(() => resolve(reply.impact));
        else settle(() => reject(reply.code ? new SwitchyardError(reply.code as ErrorCode, reply.message) : new Error(reply.message)));
      });
      worker.on('error', (err) => settle(() => reject(new PolicyError('policy_invalid', `The policy bundle could not be checked: ${err.message}`))));
      worker.on('exit', (code) => settle(() => reject(new Error(`the policy check worker exited with code ${code}`))));
    });
  }

  /** Stops every check in flight (at shutdown), failing each with the given error. */
  abortAll(err: () => Error): void {
    for (const entry of [...this.running]) entry.reject(err());
  }
}
