import fs from 'node:fs';
import { InvalidArgumentError } from 'commander';
import YAML from 'yaml';
import { usageError } from './exit-codes.js';

/**
 * Reads a JSON or YAML document from a file (`-` is stdin). `.json` files are parsed as JSON;
 * anything else as YAML 1.2, whose core schema keeps `2026-12-01T00:00:00Z` a string and `on` a key.
 */
export function readDocument(file: string, what: string): unknown {
  let text: string;
  try {
    text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError(`cannot read ${what} file ${file}: ${(err as Error).message}`);
  }
  const name = file === '-' ? 'stdin' : file;
  if (/\.json$/i.test(file)) {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw usageError(`${name} is not valid JSON: ${(err as Error).message}`);
    }
  }
  try {
    return YAML.parse(text, { uniqueKeys: true });
  } catch (err) {
    throw usageError(`${name} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

export function readObject(file: string, what: string): Record<string, unknown> {
  const doc = readDocument(file, what);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw usageError(`${file === '-' ? 'stdin' : file} must hold one ${what} object`);
  return doc as Record<string, unknown>;
}

/** A context value: JSON when it parses (`30`, `true`, `"007"`, `["a"]`), else the string itself. */
export function contextValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** commander collector for a repeatable `--context key=value`. */
export function collectPair(raw: string, previous: [string, unknown][] = []): [string, unknown][] {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected key=value');
  return [...previous, [raw.slice(0, eq), contextValue(raw.slice(eq + 1))]];
}

/** commander collector for a repeatable option. */
export function collect(raw: string, previous: string[] = []): string[] {
  return [...previous, raw];
}
