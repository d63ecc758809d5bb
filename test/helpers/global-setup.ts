import fs from 'node:fs';
import { BUNDLE_PATH } from './paths.js';

/** The HTTP tests run the real compiled policy; without it they would test nothing real. */
export default function setup(): void {
  if (!fs.existsSync(BUNDLE_PATH)) {
    throw new Error(`${BUNDLE_PATH} is missing: run \`make policies\` (make test does it for you)`);
  }
}
