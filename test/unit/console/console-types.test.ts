import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as Console from '../../../src/console/types.js';
import { INTENT_ACTIONS, type IntentAction } from '../../../src/intents/intent-actions.js';
import type { IntentService } from '../../../src/intents/intent-service.js';

/**
 * The console's JSDoc types (src/console/types.d.ts) against what the server's code returns: each
 * intent answer the console reads must be assignable to the shape the console declares, so a
 * field the console relies on that the server renames, drops or retypes fails `tsc -p
 * tsconfig.json` here (make test runs it), before any browser test.
 */

type Detail = Awaited<ReturnType<IntentService['get']>>;
/** Over HTTP the caller is always known, so `allowed_actions` is always there. */
type SentDetail = Detail & { allowed_actions: NonNullable<Detail['allowed_actions']> };

// Compile-time checks: each function body is an assignment tsc must accept.
export const detailFits = (d: SentDetail): Console.IntentDetail => d;
export const listFits = (l: Awaited<ReturnType<IntentService['list']>>): Console.IntentList => l;
export const approvalFits = (a: Awaited<ReturnType<IntentService['approve']>>): Console.ApprovalResult => a;

describe('console types', () => {
  it('name the same actions as the server rule, in its order', () => {
    expectTypeOf<Console.IntentAction>().toEqualTypeOf<IntentAction>();
    const consoleOrder: Console.IntentAction[] = ['approve', 'pause', 'resume', 'rollback', 'complete', 'advance', 'ship'];
    expect(consoleOrder).toEqual([...INTENT_ACTIONS]);
  });
});
