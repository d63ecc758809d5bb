import fs from 'node:fs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseBundle } from '../../src/policy/policy-bundle.js';
import { LoadedBundle, PolicyEngine } from '../../src/policy/policy-engine.js';
import { PolicySandbox } from '../../src/policy/policy-sandbox.js';
import { probeInput } from '../../src/policy/policy-input.js';
import { BUNDLE_PATH } from '../helpers/paths.js';

describe('the wasm memory ceiling', () => {
  it('turns an input too large for the policy instance into a fail-closed denial, and the engine keeps working', async () => {
    const logger = pino({ level: 'silent' });
    const sandbox = new PolicySandbox({ timeoutMs: 30_000, loadTimeoutMs: 30_000, logger });
    const engine = new PolicyEngine(logger, sandbox);
    engine.activate(await LoadedBundle.load(await parseBundle(fs.readFileSync(BUNDLE_PATH)), probeInput(new Date()), sandbox));
    const huge = probeInput(new Date());
    // ~160 MiB of input: more than the 128 MiB an instance may grow to.
    huge.intent.description = 'x'.repeat(160 * 1024 * 1024);
    const denied = engine.evaluate(huge);
    expect(denied.failedClosed).toBe(true);
    expect(denied.decision.allow).toBe(false);
    expect(denied.decision.violations.map((v) => v.code)).toEqual(['policy_error']);

    const normal = engine.evaluate(probeInput(new Date()));
    expect(normal.failedClosed).toBe(false);
    expect(normal.decision.violations.map((v) => v.code)).toEqual(['unknown_service']);
    sandbox.close();
  });
});
