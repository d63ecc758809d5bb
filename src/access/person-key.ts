/**
 * The key under which a token name counts as one person (SPEC §4: "token names are compared after
 * Unicode NFC normalisation, trimming and case folding"). Two tokens whose names share a key are
 * the same person: their approvals count once, and neither may approve what the other submitted.
 *
 * Names are stored as given, so old rows in any form still compare equal: callers key both sides at
 * read time rather than trusting a normalised column.
 *
 * JavaScript has no full case fold. lower → upper → lower is the approximation: checked over every
 * code point against Unicode full case folding (`str.casefold()`), it never keeps apart two names
 * that folding would merge (`ß`, `ẞ` and `SS` all become `ss`, final `ς` becomes `σ`, `ﬁ` becomes
 * `fi`), and merges more in one place: the Turkish dotless `ı` keys like `i`. Merging too much
 * only makes an approval not count; merging too little would let one person count twice.
 * Casing is locale-independent (ECMAScript default case mappings), so the key does not depend
 * on the server's locale.
 */
export function personKey(name: string): string {
  return name.normalize('NFC').trim().toLowerCase().toUpperCase().toLowerCase().normalize('NFC');
}

/** Whether two token names are the same person. */
export function samePerson(a: string, b: string): boolean {
  return personKey(a) === personKey(b);
}
