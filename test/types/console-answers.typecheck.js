// @ts-check
/**
 * Compile-time proof that the console's JSDoc types are the routes' declared answers
 * (src/console/types.d.ts, docs/console.md "Modules, types"): checked by `tsc -p
 * tsconfig.console.json` (make typecheck), with the console's own options. Each `@ts-expect-error`
 * line must be an error, or tsc fails with "Unused '@ts-expect-error'"; each plain line must be
 * accepted. Never loaded at run time.
 */

/** @param {import('../../src/console/types.js').IntentDetail} d */
export function intentReads(d) {
  const allowed = d.allowed_actions ?? [];
  /** @type {unknown[]} */
  const read = [allowed.includes('approve'), d.editable, d.rollout?.status, d.versions[0]?.rolled_back_at];
  // @ts-expect-error a field the declared IntentDetail lacks
  read.push(d.allowed_action);
  // @ts-expect-error `allowed_actions` is optional in the declaration: read it unchecked and tsc refuses
  read.push(d.allowed_actions.length);
  // @ts-expect-error an action the domain's INTENT_ACTIONS does not name
  read.push(allowed.includes('delete'));
  // @ts-expect-error a state the domain's EXPERIMENT_STATES does not name
  read.push(d.state === 'live');
  return read;
}

/** @param {import('../../src/console/types.js').Problem} p @param {import('../../src/console/types.js').Analysis} a */
export function otherReads(p, a) {
  /** @type {unknown[]} */
  const read = [p.code === 'version_changed', a.guardrails[0]?.status === 'regressed'];
  // @ts-expect-error a code that is not in ERROR_CODES (src/errors.ts)
  read.push(p.code === 'no_such_code');
  // @ts-expect-error a guardrail status the domain's GUARDRAIL_STATUSES does not name
  read.push(a.guardrails[0]?.status === 'failed');
  return read;
}
