/** Every role a token can have; the one list (token requests, OpenAPI, CLI import it). */
export const ROLES = ['owner', 'approver', 'governance', 'operator', 'service', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  team: string | null;
  approvalRoles: string[];
  service: string | null;
  createdAt: string;
  createdBy: string | null;
  revokedAt: string | null;
}

/** The tokens' storage port. Tokens are stored only as hashes; the secret is shown once, at creation. */
export interface TokenReader {
  /** Every token that is not revoked, each with its hash: what TokenService's snapshot is loaded from. */
  listActive(): Promise<{ hash: string; token: TokenRecord }[]>;
  get(id: string): Promise<TokenRecord | undefined>;
  /** Every token ever created, revoked ones included, by (createdAt, id) ascending. */
  list(): Promise<TokenRecord[]>;
  count(): Promise<number>;
}

export interface TokenStore extends TokenReader {
  /** False (nothing stored, never a throw) when a token with the same hash exists already (a bootstrap token on restart). */
  insert(token: Omit<TokenRecord, 'revokedAt'>, hash: string): Promise<boolean>;
  /** Sets revokedAt on an active token; false when there is no active token with this id. */
  revoke(id: string, at: string): Promise<boolean>;
}
