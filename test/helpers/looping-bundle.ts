import fs from 'node:fs';
import path from 'node:path';
import { buildModifiedBundle } from './bundles.js';

/**
 * The shipped policies plus a rule whose evaluation never ends in practice: three nested
 * iterations over 100,000 numbers (10^15 steps) behind `trigger`, a Rego condition on the input.
 * (It also grows the wasm heap by a few MiB a second, so it ends in an out-of-memory error after
 * some tens of seconds; every deadline the tests use is far shorter.)
 * The bundle loads (instantiating runs no rule); only an evaluation where `trigger` holds loops.
 * Built by the real opa, so it is a real `opa build -t wasm` bundle a governance team could upload.
 */
export function buildLoopingBundle(trigger: string, revision: string): Buffer {
  return buildModifiedBundle((dir) => {
    fs.writeFileSync(
      path.join(dir, 'spin.rego'),
      `package switchyard.spin

xs := numbers.range(1, 100000)

violations contains {"code": "spin", "policy": "spin", "message": "unreachable in practice"} if {
	${trigger}
	some a in xs
	some b in xs
	some c in xs
	c < b
}
`,
    );
    const decision = path.join(dir, 'decision.rego');
    fs.writeFileSync(
      decision,
      fs
        .readFileSync(decision, 'utf8')
        .replace('import data.switchyard.schedule\n', 'import data.switchyard.schedule\nimport data.switchyard.spin\n')
        .replace('\tschedule.violations,\n', '\tschedule.violations,\n\tspin.violations,\n'),
    );
  }, revision);
}

/** Loops on every evaluation, the load-time probe included. */
export const LOOPS_ALWAYS = 'input.intent.key != ""';
/** Loops only for intents whose key starts with "spin-": passes the probe and the impact analysis. */
export const LOOPS_ON_SPIN_KEYS = 'startswith(input.intent.key, "spin-")';
