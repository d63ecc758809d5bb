/**
 * The worker thread that runs policy wasm, so that a bundle that never returns can be stopped by
 * terminating the thread (V8's termination interrupts a wasm loop; the main thread cannot).
 *
 * Two modes, chosen by `workerData.mode`:
 * - `evaluator`: long-lived; holds the loaded revisions and answers evaluations through a
 *   SharedArrayBuffer the main thread waits on with `Atomics.wait` (see PolicySandbox).
 * - `check`: one-shot; loads a candidate, probes it and computes its impact on the live experiments
 *   the main thread read and put in the job (ImpactCase); it opens no database.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { pino } from 'pino';
import { SwitchyardError } from '../errors.js';
import { describe, LoadedBundle } from './policy-engine.js';
import { policyImpact, type ImpactCase } from './policy-impact.js';
import { probeInput, type PolicyInput } from './policy-input.js';
import { InProcessRunner } from './policy-runner.js';
import type { PolicyBundle } from './policy-bundle.js';

export const CTL_DONE = 0;
export const CTL_STATUS = 1;
export const CTL_LENGTH = 2;
/** Bumped by the main thread after each message it posts: the worker sleeps on it, not on its event loop. */
export const CTL_DOORBELL = 3;
export const STATUS_OK = 0;
export const STATUS_ERROR = 1;

export type EvaluatorRequest =
  | { kind: 'load'; id: number; revision: string; wasm: Uint8Array; data: Record<string, unknown> }
  | { kind: 'eval'; id: number; revision: string; input: PolicyInput }
  | { kind: 'forget'; revision: string };

export type EvaluatorReply = { kind: 'loaded'; id: number; entrypoints: string[] } | { kind: 'load_failed'; id: number; message: string };

export interface CheckJob {
  mode: 'check';
  bundle: Omit<PolicyBundle, 'raw'>;
  nowMs: number;
  /** The live versions to judge, read by the main thread before the worker starts. */
  cases: ImpactCase[];
  activeRevision: string | null;
}

export type CheckReply =
  | { kind: 'stage'; stage: 'impact' }
  | { kind: 'done'; impact: ReturnType<typeof policyImpact> }
  | { kind: 'failed'; code: string | null; status: number; message: string };

/**
 * The sandbox loop. The thread sleeps in `Atomics.wait` on the doorbell and, woken, takes its
 * messages synchronously off the port: waking a thread blocked on a futex costs a few microseconds,
 * a round through the worker's event loop several times that, and this sits on every decision.
 */
/** How long the worker looks for the next request before it parks in `Atomics.wait`. */
const SPIN_MS = 0.1;

function runEvaluator(port: MessagePort, ctl: Int32Array, out: Uint8Array): void {
  const runner = new InProcessRunner();
  const encoder = new TextEncoder();
  const answer = (id: number, status: number, text: string) => {
    let { written } = encoder.encodeInto(text, out);
    if (written < Buffer.byteLength(text)) {
      status = STATUS_ERROR;
      written = encoder.encodeInto(`the decision is larger than ${out.length} bytes`, out).written;
    }
    Atomics.store(ctl, CTL_STATUS, status);
    Atomics.store(ctl, CTL_LENGTH, written);
    Atomics.store(ctl, CTL_DONE, id);
    Atomics.notify(ctl, CTL_DONE);
  };
  let rung = 0;
  for (;;) {
    // Decisions come in bursts (a submission, an impact run, a benchmark): look for the next one
    // for a bounded moment before parking, so a burst pays no futex wake-up per decision.
    const spinUntil = performance.now() + SPIN_MS;
    while (Atomics.load(ctl, CTL_DOORBELL) === rung && performance.now() < spinUntil);
    Atomics.wait(ctl, CTL_DOORBELL, rung);
    rung = Atomics.load(ctl, CTL_DOORBELL);
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
      const msg = m.message as EvaluatorRequest;
      if (msg.kind === 'load') {
        try {
          const entrypoints = runner.loadSync(msg.revision, msg.wasm, msg.data);
          port.postMessage({ kind: 'loaded', id: msg.id, entrypoints } satisfies EvaluatorReply);
        } catch (err) {
          port.postMessage({ kind: 'load_failed', id: msg.id, message: describe(err) } satisfies EvaluatorReply);
        }
      } else if (msg.kind === 'eval') {
        try {
          answer(msg.id, STATUS_OK, JSON.stringify(runner.evaluate(msg.revision, msg.input)));
        } catch (err) {
          answer(msg.id, STATUS_ERROR, describe(err));
        }
      } else {
        runner.forget(msg.revision);
      }
    }
  }
}

async function runCheck(port: NonNullable<typeof parentPort>, job: CheckJob): Promise<void> {
  try {
    const bundle: PolicyBundle = { ...job.bundle, raw: Buffer.alloc(0) };
    const candidate = await LoadedBundle.load(bundle, probeInput(new Date(job.nowMs)), new InProcessRunner());
    port.postMessage({ kind: 'stage', stage: 'impact' } satisfies CheckReply);
    const impact = policyImpact(job.cases, candidate, job.activeRevision, pino({ level: 'silent' }));
    port.postMessage({ kind: 'done', impact } satisfies CheckReply);
  } catch (err) {
    const known = err instanceof SwitchyardError;
    port.postMessage({ kind: 'failed', code: known ? err.code : null, status: known ? err.status : 500, message: describe(err) } satisfies CheckReply);
  }
}

/** Set in workerData by the two callers, so importing this module anywhere else does nothing. */
export const WORKER_MARK = 'switchyardPolicyWorker';

const data = workerData as ({ mode: 'evaluator'; ctl: SharedArrayBuffer; out: SharedArrayBuffer; port: MessagePort } | CheckJob) & { [WORKER_MARK]?: true };
if (parentPort && data?.[WORKER_MARK]) {
  if (data.mode === 'evaluator') runEvaluator(data.port, new Int32Array(data.ctl), new Uint8Array(data.out));
  else void runCheck(parentPort, data);
}
