import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUNDLE_PATH = path.join(ROOT, 'build/policy/bundle.tar.gz');
export const OPA_BIN = path.join(ROOT, '.tools/opa-v1.22.3/opa');
