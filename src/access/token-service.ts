import crypto from 'node:crypto';
import { ulid } from 'ulid';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { NotFoundError, UnauthorizedError, ValidationError } from '../errors.js';
import { identifier, zodFieldErrors } from '../intents/validation.js';
import type { ChangeFeed, UnitOfWork } from '../unit-of-work.js';
import { ROLES, type Role, type TokenReader, type TokenRecord } from './token-store.js';
import type { Actor } from './actor.js';

export { ROLES } from './token-store.js';

/** Token name, team, service and approval roles are identifiers (SPEC §2): no control characters. */
const name = identifier(128);

export const TokenRequestSchema = z
  .strictObject({
    name,
    role: z.enum(ROLES),
    team: name.optional(),
    approval_roles: z.array(name).max(20).optional(),
    service: name.optional(),
  })
  .superRefine((t, ctx) => {
    if (t.role === 'owner' && !t.team) ctx.addIssue({ code: 'custom', path: ['team'], message: 'an owner token needs a team' });
    if (t.role === 'service' && !t.service) ctx.addIssue({ code: 'custom', path: ['service'], message: 'a service token needs a service' });
    if (t.role === 'approver' && !(t.approval_roles && t.approval_roles.length > 0)) {
      ctx.addIssue({ code: 'custom', path: ['approval_roles'], message: 'an approver token needs at least one approval role' });
    }
    if (t.team && t.role !== 'owner') ctx.addIssue({ code: 'custom', path: ['team'], message: 'only owner tokens have a team' });
    if (t.service && t.role !== 'service') ctx.addIssue({ code: 'custom', path: ['service'], message: 'only service tokens have a service' });
  });

export type TokenRequest = z.infer<typeof TokenRequestSchema>;

/** 32 random bytes: 256 bits of entropy, so a plain SHA-256 of the token is a safe stored form. */
export function generateToken(): string {
  return `sy_${crypto.randomBytes(32).toString('base64url')}`;
}

/**
 * Anything shaped like a token (ours are `sy_` + 43 characters; a configured bootstrap token may be
 * shorter): error messages quote what the client sent, and a client may send a token where it does
 * not belong (an intent's owner, a path), so log lines pass through this first.
 */
const TOKEN_LIKE = /sy_[A-Za-z0-9_-]{16,}/g;

export function redactTokens(text: string): string {
  return text.replace(TOKEN_LIKE, 'sy_[redacted]');
}

export function hashToken(token: string): string {
  return crypto.hash('sha256', token, 'hex');
}

/** A token as `GET /v1/tokens` lists it. */
export interface TokenView {
  id: string;
  name: string;
  role: Role;
  team?: string;
  approval_roles?: string[];
  service?: string;
  created_at: string;
  revoked_at?: string;
}
/** Told the id of each token once its revocation has committed. */
export type RevocationListener = (tokenId: string) => void;

export class TokenService {
  private readonly revocationListeners = new Set<RevocationListener>();

  /** Every active token by the SHA-256 of its secret: what `authenticate` reads, never a query per request. */
  private active = new Map<string, TokenRecord>();
  private reloading: Promise<void> = Promise.resolve();
  /**
   * While a reload's query runs: this process's own creations and revocations committed meanwhile,
   * re-applied to what the query read (it may have read before they committed).
   */
  private edits: ((m: Map<string, TokenRecord>) => void)[] | undefined;
  private stopFeed: (() => void) | undefined;

  constructor(
    private readonly deps: {
      read: TokenReader;
      audit: AuditLog;
      clock: Clock;
      tx: UnitOfWork;
      /**
       * The storage's read barrier (ChangeFeed.fresh, ADR 0012), awaited before every bearer
       * token is resolved. Authentication is the first step of every read (flags, OFREP, flagd
       * sync, and every express route), so the barrier is awaited here, once, and it brings every
       * snapshot up to date (the flags documents as well as the tokens).
       */
      fresh?: (() => Promise<void>) | undefined;
    },
  ) {}

  /** Loads the snapshot (at start) and keeps it current from `feed` (another process's commits). */
  async load(feed?: ChangeFeed): Promise<void> {
    await this.reload();
    if (feed && !this.stopFeed) this.stopFeed = feed.onExternalChange(() => this.reloadOrFail());
  }

  /**
   * Re-reads every active token; the tokens that were active and are not any more (revoked by
   * another process) are told to the revocation listeners, as a revocation here would be.
   */
  reload(): Promise<void> {
    return this.reloadOrFail().catch(() => {
      // The last good snapshot stays; the next change retries.
    });
  }

  /** `reload`, rejected if it failed (the read barrier must not count a failed reload as current). */
  private reloadOrFail(): Promise<void> {
    const run = this.reloading.then(async () => {
      const edits: ((m: Map<string, TokenRecord>) => void)[] = [];
      this.edits = edits;
      try {
        const next = new Map<string, TokenRecord>();
        for (const { hash, token } of await this.deps.read.listActive()) next.set(hash, token);
        for (const edit of edits) edit(next);
        const ids = new Set([...next.values()].map((t) => t.id));
        const gone = [...this.active.values()].filter((t) => !ids.has(t.id)).map((t) => t.id);
        this.active = next;
        for (const id of gone) this.tellRevoked(id);
      } finally {
        this.edits = undefined;
      }
    });
    this.reloading = run.catch(() => {});
    return run;
  }

  /** Applies a committed change of this process to the snapshot, and to the one a running reload is building. */
  private edit(change: (m: Map<string, TokenRecord>) => void): void {
    change(this.active);
    this.edits?.push(change);
  }

  stop(): void {
    this.stopFeed?.();
    this.stopFeed = undefined;
  }

  private tellRevoked(id: string): void {
    for (const listener of [...this.revocationListeners]) {
      try {
        listener(id);
      } catch {
        // one listener's failure does not keep the others from hearing
      }
    }
  }

  /**
   * Calls `listener` after each revocation commits, so whatever a token holds open (its streams)
   * ends at once instead of living on until it next authenticates. Returns the unsubscribe.
   */
  onRevoked(listener: RevocationListener): () => void {
    this.revocationListeners.add(listener);
    return () => this.revocationListeners.delete(listener);
  }

  /**
   * Resolves a bearer token. The lookup is by the token's SHA-256 (in the snapshot of active
   * tokens), never by the token itself, so the time it takes says nothing about how much of a
   * guessed token was right.
   */
  async authenticate(token: string | undefined): Promise<Actor> {
    // The read barrier first, also before a 401: a token just created on another instance works here.
    if (this.deps.fresh) await this.deps.fresh();
    return this.authenticateNow(token);
  }

  /**
   * True when `authenticate` awaits a read barrier (PostgreSQL, many instances). Without one (SQLite:
   * one process, which sees its own commits at once) `authenticateNow` gives the same answer without
   * a promise, which the read path uses: the await cost OFREP single ~10 % of its throughput.
   */
  get awaitsBarrier(): boolean {
    return this.deps.fresh !== undefined;
  }

  /** `authenticate` without the read barrier: the snapshot as it is now. */
  authenticateNow(token: string | undefined): Actor {
    if (!token) throw new UnauthorizedError();
    const t = this.active.get(hashToken(token));
    if (!t) throw new UnauthorizedError('The bearer token is unknown or revoked');
    return { tokenId: t.id, name: t.name, role: t.role, team: t.team, approvalRoles: t.approvalRoles, service: t.service };
  }

  /**
   * The actor of an active token named by its id, for credentials that stand for a token without
   * carrying its secret (an OFREP event-stream ticket, src/access/stream-ticket.ts). 401 when the
   * token is unknown or revoked. A scan of the snapshot: asked once per stream, not per request.
   */
  actorById(id: string): Actor {
    let t: TokenRecord | undefined;
    for (const candidate of this.active.values()) if (candidate.id === id) t = candidate;
    if (!t) throw new UnauthorizedError('The token behind this ticket is unknown or revoked');
    return { tokenId: t.id, name: t.name, role: t.role, team: t.team, approvalRoles: t.approvalRoles, service: t.service };
  }

  async create(body: unknown, actor: Actor): Promise<{ id: string; token: string; name: string; role: Role }> {
    const parsed = TokenRequestSchema.safeParse(body);
    if (!parsed.success) throw new ValidationError(zodFieldErrors(parsed.error), 'The token request is not valid');
    const req = parsed.data;
    const token = generateToken();
    const id = `tok_${ulid()}`;
    await this.deps.tx.run(async (u) => {
      const record: Omit<TokenRecord, 'revokedAt'> = {
          id,
          name: req.name,
          role: req.role,
          team: req.team ?? null,
          approvalRoles: req.approval_roles ?? [],
          service: req.service ?? null,
          createdAt: this.deps.clock.now().toISOString(),
          createdBy: actor.name,
      };
      const hash = hashToken(token);
      if (await u.tokens.insert(record, hash)) u.afterCommit(() => this.edit((m) => m.set(hash, { ...record, revokedAt: null })));
      await this.deps.audit.append(u, {
        type: 'token_created',
        actor: actor.name,
        data: { token_id: id, name: req.name, role: req.role, team: req.team ?? null, approval_roles: req.approval_roles ?? [], service: req.service ?? null },
      });
    });
    return { id, token, name: req.name, role: req.role };
  }

  /**
   * Every token, revoked ones included (their ids appear in the audit trail), without the secret
   * or its hash: a token is shown once, at creation, and never again.
   */
  async list(): Promise<TokenView[]> {
    return (await this.deps.read.list()).map((t) => ({
      id: t.id,
      name: t.name,
      role: t.role,
      ...(t.team !== null ? { team: t.team } : {}),
      ...(t.approvalRoles.length > 0 ? { approval_roles: t.approvalRoles } : {}),
      ...(t.service !== null ? { service: t.service } : {}),
      created_at: t.createdAt,
      ...(t.revokedAt !== null ? { revoked_at: t.revokedAt } : {}),
    }));
  }

  async revoke(id: string, actor: Actor): Promise<void> {
    await this.deps.tx.run(async (u) => {
      const t = await u.tokens.get(id);
      if (!t || t.revokedAt) throw new NotFoundError('token_not_found', `No active token with id ${id}`);
      await u.tokens.revoke(id, this.deps.clock.now().toISOString());
      await this.deps.audit.append(u, { type: 'token_revoked', actor: actor.name, data: { token_id: id, name: t.name, role: t.role } });
      u.afterCommit(() => {
        this.edit((m) => {
          for (const [hash, token] of m) if (token.id === id) m.delete(hash);
        });
        this.tellRevoked(id);
      });
    });
  }

  /**
   * Makes sure an admin token exists at start: the configured bootstrap token (idempotent across
   * restarts), or on a brand-new database a fresh one that the caller prints once.
   */
  async bootstrap(configured: string | undefined): Promise<{ token: string | null }> {
    const result = await this.deps.tx.run(async (u) => {
      const at = this.deps.clock.now().toISOString();
      if (configured) {
        const inserted = await u.tokens.insert(
          { id: `tok_${ulid()}`, name: 'bootstrap-admin', role: 'admin', team: null, approvalRoles: [], service: null, createdAt: at, createdBy: 'bootstrap' },
          hashToken(configured),
        );
        if (inserted) await this.deps.audit.append(u, { type: 'token_created', actor: 'bootstrap', data: { name: 'bootstrap-admin', role: 'admin', source: 'SWITCHYARD_BOOTSTRAP_TOKEN' } });
        return { token: null };
      }
      if ((await u.tokens.count()) > 0) return { token: null };
      const token = generateToken();
      const id = `tok_${ulid()}`;
      await u.tokens.insert({ id, name: 'admin', role: 'admin', team: null, approvalRoles: [], service: null, createdAt: at, createdBy: 'bootstrap' }, hashToken(token));
      await this.deps.audit.append(u, { type: 'token_created', actor: 'bootstrap', data: { token_id: id, name: 'admin', role: 'admin', source: 'first start' } });
      return { token };
    });
    await this.reload();
    return result;
  }
}
