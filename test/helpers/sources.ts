import fs from 'node:fs';
import path from 'node:path';

/** The newest modification time of any .ts file under `dir`: tests that run dist/ rebuild when it is older. */
export function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSourceMtime(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}
