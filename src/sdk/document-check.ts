/**
 * Checks a flags document (SPEC §5) as it arrives over the network or from the state file.
 *
 * Only the envelope is checked here: a document the client cannot place (not JSON, another
 * service, no version, no flags object) is refused whole and the last good state stays. The
 * flags themselves are judged one by one by `compileFlag`, which turns a malformed flag into a
 * `PARSE_ERROR` that serves its default variant; refusing the whole document for one bad flag
 * would also hold back a kill switch (a pause) on every other flag of the service.
 */
import type { FlagsDocument } from '../evaluation/index.js';

export type DocumentCheck = { ok: true; doc: FlagsDocument } | { ok: false; problem: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Freezes the document so values handed to callers cannot alter the state other callers see. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Parses and checks `text` as the flags document of `service`; the result is deeply frozen. */
export function parseFlagsDocument(text: string, service: string): DocumentCheck {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: `not JSON (${(err as Error).message})` };
  }
  if (!isRecord(parsed)) return { ok: false, problem: 'not a JSON object' };
  const { service: docService, version, flags } = parsed;
  if (docService !== service) {
    return { ok: false, problem: `document is for service ${JSON.stringify(docService)}, not ${JSON.stringify(service)}` };
  }
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    return { ok: false, problem: 'version: must be a non-negative integer' };
  }
  if (!isRecord(flags)) return { ok: false, problem: 'flags: must be an object' };
  for (const [key, flag] of Object.entries(flags)) {
    if (!isRecord(flag)) return { ok: false, problem: `flags.${key}: must be an object` };
  }
  return { ok: true, doc: deepFreeze(parsed as unknown as FlagsDocument) };
}
