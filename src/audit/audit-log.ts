import crypto from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import { ulid } from 'ulid';
import type { Clock } from '../clock.js';
import type { AuditQuery, AuditReader, AuditRecord, AuditStore } from './audit-store.js';

/** The package is CommonJS with an ESM-style type declaration; its default import is the function. */
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

export const GENESIS_HASH = '0'.repeat(64);

export type AuditEventType =
  | 'submitted'
  | 'decided'
  | 'approved'
  | 'started'
  | 'paused'
  | 'resumed'
  | 'rolled_back'
  | 'completed'
  | 'advanced'
  | 'shipped'
  | 'expired'
  | 'archived'
  | 'policy_activated'
  | 'token_created'
  | 'token_revoked'
  | 'flags_changed'
  | 'guardrail_tripped';

export interface AuditEventInput {
  type: AuditEventType;
  actor: string;
  experiment?: string;
  version?: number;
  service?: string;
  data?: Record<string, unknown>;
}

export interface AuditEvent {
  id: string;
  seq: number;
  type: string;
  experiment: string | null;
  version: number | null;
  service: string | null;
  actor: string;
  at: string;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export interface ChainVerification {
  ok: boolean;
  events: number;
  head: string;
  broken_at?: { seq: number; id: string; reason: string };
  /** With a head recorded earlier (`verify(witness)`): whether it is still on the chain, and where. */
  witness?: { head: string; found: boolean; seq: number | null };
}

/**
 * Hash of one event: SHA-256 over the previous hash and the RFC 8785 canonical JSON of every
 * stored field. Changing any column of any row, or removing a row, breaks every hash after it.
 */
export function eventHash(prevHash: string, e: Omit<AuditRecord, 'seq' | 'hash' | 'prevHash'>): string {
  const body = canonicalize({
    id: e.id,
    type: e.type,
    experiment: e.experiment,
    version: e.version,
    service: e.service,
    actor: e.actor,
    at: e.at,
    data: e.data,
  });
  return crypto.createHash('sha256').update(prevHash).update('\n').update(body ?? '').digest('hex');
}

const toEvent = (r: AuditRecord): AuditEvent => ({
  id: r.id,
  seq: r.seq,
  type: r.type,
  experiment: r.experiment,
  version: r.version,
  service: r.service,
  actor: r.actor,
  at: r.at,
  data: r.data,
  prev_hash: r.prevHash,
  hash: r.hash,
});

/**
 * The append-only, hash-chained audit trail. Callers append inside their own unit of work, whose
 * serialisation makes `last()` and the insert one step: two appends never chain to the same event.
 */
export class AuditLog {
  constructor(
    private readonly read: AuditReader,
    private readonly clock: Clock,
  ) {}

  async append(u: { audit: AuditStore }, input: AuditEventInput): Promise<AuditEvent> {
    const prev = await u.audit.last();
    const prevHash = prev?.hash ?? GENESIS_HASH;
    const record = {
      id: `ev_${ulid()}`,
      type: input.type,
      experiment: input.experiment ?? null,
      version: input.version ?? null,
      service: input.service ?? null,
      actor: input.actor,
      at: this.clock.now().toISOString(),
      data: input.data ?? {},
    };
    const hash = eventHash(prevHash, record);
    const seq = await u.audit.insert({ ...record, prevHash, hash });
    return toEvent({ ...record, seq, prevHash, hash });
  }

  async query(q: AuditQuery): Promise<AuditEvent[]> {
    return (await this.read.query(q)).map(toEvent);
  }

  /**
   * Recomputes the chain from the genesis hash. `witness` is a head recorded earlier (an earlier
   * answer's `head`, kept outside this database): the chain must still pass through it, or events
   * up to it were deleted or rewritten with every hash recomputed, which the chain alone cannot show.
   */
  async verify(witness?: string): Promise<ChainVerification> {
    let prevHash = GENESIS_HASH;
    let count = 0;
    let seen: number | undefined = witness === GENESIS_HASH ? 0 : undefined;
    const result = (v: Omit<ChainVerification, 'witness'>): ChainVerification =>
      witness === undefined ? v : { ...v, ok: v.ok && seen !== undefined, witness: { head: witness, found: seen !== undefined, seq: seen ?? null } };
    for await (const r of this.read.iterate()) {
      if (r.prevHash !== prevHash) {
        return result({ ok: false, events: count, head: prevHash, broken_at: { seq: r.seq, id: r.id, reason: 'prev_hash does not match the event before' } });
      }
      if (eventHash(prevHash, r) !== r.hash) {
        return result({ ok: false, events: count, head: prevHash, broken_at: { seq: r.seq, id: r.id, reason: 'hash does not match the event content' } });
      }
      prevHash = r.hash;
      count++;
      if (r.hash === witness) seen = r.seq;
    }
    return result({ ok: true, events: count, head: prevHash });
  }
}
