/**
 * Text as an older version stored it, read back exactly.
 *
 * better-sqlite3 writes a JavaScript string to SQLite as V8's UTF-8, which encodes a lone surrogate
 * (`"\ud800"`) as its three generalized-UTF-8 bytes (ED A0 80: WTF-8), and reads TEXT back with a
 * UTF-8 decoder that turns those bytes into three U+FFFD. So a value stored before SPEC §2's text
 * rules were enforced comes back different from what was written: a key read from one table no
 * longer finds its rows in another, and the audit chain, hashed over the string as written, no
 * longer verifies. Reading such columns as BLOBs and decoding surrogate sequences as the code
 * units they encode gives back the very string that was written. Valid UTF-8 (everything the
 * current version stores) decodes as usual.
 */
export function storedText(bytes: Buffer | string | null): string | null {
  if (bytes === null || typeof bytes === 'string') return bytes;
  let start = 0;
  let out = '';
  for (let i = bytes.indexOf(0xed); i !== -1 && i + 2 < bytes.length; i = bytes.indexOf(0xed, i + 1)) {
    const b1 = bytes[i + 1]!;
    const b2 = bytes[i + 2]!;
    // ED A0..BF 80..BF: U+D800..U+DFFF, which UTF-8 proper never contains.
    if (b1 >= 0xa0 && b1 <= 0xbf && b2 >= 0x80 && b2 <= 0xbf) {
      out += bytes.toString('utf8', start, i) + String.fromCharCode(0xd000 | ((b1 & 0x3f) << 6) | (b2 & 0x3f));
      start = i + 3;
      i += 2;
    }
  }
  return start === 0 ? bytes.toString('utf8') : out + bytes.toString('utf8', start);
}
