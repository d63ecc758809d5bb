import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUNDLE_PATH = path.join(ROOT, 'build/policy/bundle.tar.gz');
/** The pinned opa; SWITCHYARD_TEST_OPA names it from a copy of the tree without .tools (make mutation's sandbox). */
export const OPA_BIN = process.env['SWITCHYARD_TEST_OPA'] ?? path.join(ROOT, '.tools/opa-v1.22.3/opa');
