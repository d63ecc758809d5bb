import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths.js';

/**
 * The Makefile runs its recipes under `-o pipefail`. A command piped into a reader that may stop
 * before the end of its input (`head`, `grep -q`, `grep -m`) dies of SIGPIPE when the reader exits
 * first, and pipefail then fails the recipe: `make run`/`make test` failed about 1 time in 20 on a
 * fresh machine from `$(OPA) version | head -1`. Shell scripts the Makefile runs are held to it too.
 */
const EARLY_EXIT_READER = /(?<!\|)\|\s*(head\b|grep\s+(-\w*[qml]\w*\b))/;

function recipeLines(makefile: string): { line: number; text: string }[] {
  return makefile
    .split('\n')
    .map((text, i) => ({ line: i + 1, text }))
    .filter(({ text }) => !text.trimStart().startsWith('#'));
}

describe('no pipe into a reader that stops early', () => {
  it('detects the pattern it forbids (so the check itself can fail)', () => {
    expect(EARLY_EXIT_READER.test('\t@$@ version | head -1')).toBe(true);
    expect(EARLY_EXIT_READER.test('opa version | grep -q "^Version"')).toBe(true);
    expect(EARLY_EXIT_READER.test('x || head -1 <<<"$$(y)"')).toBe(false);
    expect(EARLY_EXIT_READER.test('\t@head -1 <<<"$$($@ version)"')).toBe(false);
  });

  for (const file of ['Makefile', 'scripts/install-chromium.sh', 'bench/peers/flagd/build.sh', '.ci/run']) {
    it(file, () => {
      const full = path.join(ROOT, file);
      const offending = recipeLines(fs.readFileSync(full, 'utf8')).filter(({ text }) => EARLY_EXIT_READER.test(text));
      expect(offending).toEqual([]);
    });
  }
});
