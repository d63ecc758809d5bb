/** A policy decision as stored: the input it judged and its result, for replay and audit. */
export interface DecisionRecord {
  id: string;
  key: string | null;
  version: number | null;
  policyRevision: string;
  input: unknown;
  result: unknown;
  status: string;
  actor: string;
  createdAt: string;
}

export interface DecisionReader {
  get(id: string): Promise<DecisionRecord | undefined>;
}

export interface DecisionStore extends DecisionReader {
  /** Decision ids are unique (`d_` + ULID); a duplicate is a bug and rejects with the adapter's error. */
  insert(d: DecisionRecord): Promise<void>;
}
