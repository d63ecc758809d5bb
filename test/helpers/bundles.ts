import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OPA_BIN, ROOT } from './paths.js';

/**
 * Builds a real wasm bundle with the pinned opa from a copy of policies/, after `edit` has changed
 * the copy: how a governance team would make a stricter policy.
 */
export function buildModifiedBundle(edit: (dir: string) => void, revision = 'test', entrypoint: string | string[] = 'switchyard/decision'): Buffer {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-policy-'));
  const src = path.join(tmp, 'policies');
  fs.cpSync(path.join(ROOT, 'policies'), src, { recursive: true });
  edit(src);
  const out = path.join(tmp, 'bundle.tar.gz');
  execFileSync(OPA_BIN, ['build', '-t', 'wasm', ...[entrypoint].flat().flatMap((e) => ['-e', e]), '--revision', revision, '--ignore', '*_test.rego', '-o', out, src], {
    stdio: 'pipe',
  });
  const bytes = fs.readFileSync(out);
  fs.rmSync(tmp, { recursive: true, force: true });
  return bytes;
}

/** Sets a tier's exposure cap in the copied catalog. */
export function withTierCap(tier: string, cap: number) {
  return (dir: string) => {
    const file = path.join(dir, 'data.json');
    const data = JSON.parse(fs.readFileSync(file, 'utf8'));
    data.switchyard.catalog.tier_caps[tier] = cap;
    fs.writeFileSync(file, JSON.stringify(data, null, 2));
  };
}
