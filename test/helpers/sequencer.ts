import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Slow files first, so that the two workers (vitest.config.ts) finish together instead of one
 * starting a 90-second file when the other is nearly done. Vitest orders by the durations it
 * cached on the last run, but `npm ci` (a clean clone, CI) removes that cache, and its fallback is
 * file size, which puts the short but slow tours and crash files last. So the files that took
 * longest in the profile of docs/testing.md ("Where make test spends its time") go first, in this
 * order; the rest follow in vitest's own order. A stale entry costs only ordering, never a result.
 */
export const SLOW_FIRST = [
  'sqlite:test/cli/cli.test.ts',
  'sqlite:test/crash/crash-consistency.test.ts',
  'sqlite:test/cli/tours.test.ts',
  'sqlite:test/http/layer-scale.test.ts',
  'sqlite:test/storage/conformance.test.ts',
  'sqlite:test/http/text-rules.test.ts',
  'sqlite:test/http/consistency.test.ts',
  'sqlite:test/multi/instances.test.ts',
  'sqlite:test/http/routes-property.test.ts',
  'sqlite:test/http/fuzz.test.ts',
  'sqlite:test/browser/console-roles.test.ts',
  'sqlite:test/sdk/packed-install.test.ts',
  'sqlite:test/unit/lint/no-expect-on-promise.test.ts',
  'sqlite:test/cli/policy.test.ts',
  'sqlite:test/crash/postgres-instance-kill.test.ts',
  'sqlite:test/http/allowed-actions.test.ts',
  'sqlite:test/crash/postgres-server-kill.test.ts',
  'sqlite:test/cli/rollout.test.ts',
  'sqlite:test/browser/console.test.ts',
  'sqlite:test/crash/postgres-kill.test.ts',
];

export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const i = SLOW_FIRST.indexOf(`${spec.project.name}:${path.relative(this.ctx.config.root, spec.moduleId).split(path.sep).join('/')}`);
      return i === -1 ? SLOW_FIRST.length : i;
    };
    // Array.prototype.sort is stable: files off the list keep vitest's order among themselves.
    return base.sort((a, b) => rank(a) - rank(b));
  }
}
