import { describe, expect, it } from 'vitest';
import { verificationText } from '../../../src/cli/commands/audit-commands.js';

/** `switchyard audit verify`'s words for each verdict GET /v1/audit/verify can give. */
describe('audit verify text', () => {
  const head = 'a'.repeat(64);
  it('intact, and where it breaks (with how many events verify before it)', () => {
    expect(verificationText({ ok: true, events: 12, head })).toBe(`chain intact: 12 events, head ${head}`);
    expect(verificationText({ ok: false, events: 2, head, broken_at: { seq: 3, id: 'ev_3', reason: 'hash does not match the event content' } })).toBe(
      'chain broken at seq 3 (ev_3): hash does not match the event content; 2 events verify before it',
    );
  });
  it('the witness head: found at its seq, or not on the chain', () => {
    const w = 'b'.repeat(64);
    expect(verificationText({ ok: true, events: 5, head, witness: { head: w, found: true, seq: 4 } })).toBe(`chain intact: 5 events, head ${head}\nhead ${w} is on the chain (seq 4)`);
    expect(verificationText({ ok: false, events: 5, head, witness: { head: w, found: false, seq: null } })).toBe(
      `chain intact: 5 events, head ${head}\nhead ${w} is NOT on the chain: events up to it were deleted or rewritten`,
    );
  });
});
