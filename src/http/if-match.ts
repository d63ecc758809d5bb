import { ValidationError } from '../errors.js';

/** One list element: an optional weak prefix and a quoted opaque tag (RFC 9110 §8.8.3), or nothing. */
const ELEMENT = /[\t ]*(?:(W\/)?("[\x21\x23-\x7E\x80-\xFF]*"))?[\t ]*(?:,|$)/y;

/**
 * RFC 9110 §13.1.1 `If-Match`: `*`, or a comma-separated list of entity tags (Node joins repeated
 * header lines with ", "). Undefined when absent. Weak tags are kept with their `W/` prefix: the
 * comparison is strong, so they never match. Anything else (a bare word, an unclosed quote, an
 * empty header) is a 400 naming the header, not a failed precondition: the client sent no tag.
 */
export function parseIfMatch(header: string | undefined): string[] | '*' | undefined {
  if (header === undefined) return undefined;
  if (header.trim() === '*') return '*';
  const tags: string[] = [];
  ELEMENT.lastIndex = 0;
  while (ELEMENT.lastIndex < header.length) {
    const at = ELEMENT.lastIndex;
    const m = ELEMENT.exec(header);
    if (!m || ELEMENT.lastIndex === at) throw malformed();
    if (m[2] !== undefined) tags.push((m[1] ?? '') + m[2]);
  }
  if (tags.length === 0) throw malformed();
  return tags;
}

function malformed(): ValidationError {
  return new ValidationError(
    [{ path: 'If-Match', message: 'must be * or a list of quoted entity tags, such as the ETag of GET /v1/intents/{key}' }],
    'The If-Match header is not valid',
  );
}
