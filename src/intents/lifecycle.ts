import type { Actor } from '../access/actor.js';
import { requireTeamAccess, SYSTEM_ACTOR } from '../access/actor.js';
import type { AuditEventType, AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { ConflictError, DocumentTooLargeError, NotFoundError } from '../errors.js';
import { resolveFlagStates, type Provenance } from '../flags/flag-resolver.js';
import type { FlagsChange, FlagStateService } from '../flags/flag-state-service.js';
import type { Slice } from '../flags/layer-allocator.js';
import type { DecisionStore } from '../storage/decision-store.js';
import type { ExperimentRecord, ExperimentState, IntentStore, VersionRecord } from '../storage/intent-store.js';
import type { Transactor } from '../storage/transactor.js';
import { exposureBuckets, type Intent } from './intent-schema.js';

export type Action = 'pause' | 'resume' | 'rollback' | 'complete';

/**
 * The experiment state machine (SPEC §4) and the only writer of flag states. Every transition
 * re-derives the experiment's flags from (active version, state) and hands the changed service
 * documents to FlagStateService; listeners hear of them once the surrounding transaction commits.
 *
 *   draft ──approved──▶ scheduled ──start──▶ running ◀──resume── paused
 *                          │                  │  ──pause──▶        │
 *                          └──────── end / complete / rollback ────┴──▶ completed
 */
export class Lifecycle {
  /** Changes made in the transaction under way, published when it commits. */
  private pending: FlagsChange[] = [];
  private depth = 0;

  constructor(
    private readonly deps: {
      intents: IntentStore;
      decisions: DecisionStore;
      flags: FlagStateService;
      audit: AuditLog;
      clock: Clock;
      tx: Transactor;
    },
  ) {}

  /** First-fit room in the intent's layer among the slices other live experiments hold. */
  reserveSlice(intent: Intent): Slice | null {
    if (!intent.layer) return null;
    return this.deps.intents.layerFirstFit(intent.key, intent.layer, exposureBuckets(intent.exposure));
  }

  /**
   * Refuses (document_too_large) a version whose flags would push one of its services' documents
   * past the cap once live; checked at submission so nothing is stored. The write that makes it
   * live checks again, since other experiments may have grown the documents in between.
   */
  assertRoom(intent: Intent, version: number, slice: Slice | null, provenance: Provenance): void {
    this.deps.flags.assertFits(intent.key, resolveFlagStates(intent, version, slice, true, provenance));
  }

  /** A version just became approved: it goes live now, or is scheduled for its start. */
  onApproved(key: string, version: number, actor: Actor): void {
    const exp = this.mustGet(key);
    const v = this.deps.intents.getVersion(key, version)!;
    const now = this.deps.clock.now();
    const start = v.intent.schedule?.start ? new Date(v.intent.schedule.start) : null;
    const end = v.intent.schedule?.end ? new Date(v.intent.schedule.end) : null;
    if (start && start > now) {
      this.setActive(exp, version, 'scheduled', start.toISOString(), actor, null);
      return;
    }
    // A paused experiment stays paused: a new approved version must not undo the kill switch.
    const state: ExperimentState = exp.state === 'paused' ? 'paused' : 'running';
    this.setActive(exp, version, state, end ? end.toISOString() : null, actor, state === 'running' ? 'started' : null);
  }

  /**
   * `detail` (the analysis behind a guardrail's pause) goes into the audit event and onto the change
   * feed's entries, so a mirror sees why its flags were turned off.
   */
  act(key: string, action: Action, reason: string, actor: Actor, detail?: Record<string, unknown>) {
    return this.transaction(() => {
      const exp = this.mustGet(key);
      requireTeamAccess(actor, exp.owner, `${action} experiments of team ${exp.owner}`, true);
      const illegal = (): never => {
        throw new ConflictError('invalid_transition', `Cannot ${action} experiment ${key}: it is ${exp.state}`, { state: exp.state, action });
      };
      switch (action) {
        case 'pause':
          if (exp.state !== 'running') illegal();
          this.setActive(exp, exp.activeVersion, 'paused', exp.dueAt, actor, 'paused', reason, detail ? { detail } : {});
          break;
        case 'resume': {
          if (exp.state !== 'paused') illegal();
          const v = this.deps.intents.getVersion(key, exp.activeVersion!)!;
          const start = v.intent.schedule?.start;
          if (start && new Date(start) > this.deps.clock.now()) {
            this.setActive(exp, exp.activeVersion, 'scheduled', new Date(start).toISOString(), actor, 'resumed', reason);
          } else {
            this.setActive(exp, exp.activeVersion, 'running', endOf(v), actor, 'resumed', reason);
          }
          break;
        }
        case 'rollback':
          if (exp.activeVersion === null || exp.state === 'completed') illegal();
          this.rollback(exp, actor, reason);
          break;
        case 'complete':
          if (exp.state === 'completed' || exp.state === 'archived') illegal();
          this.setActive(exp, exp.activeVersion, 'completed', null, actor, 'completed', reason);
          break;
      }
      return this.mustGet(key);
    });
  }

  /**
   * Back to the newest approved, not rolled-back version before the active one; without one, the
   * flags are removed and the experiment returns to draft. The rolled-back version is retired so
   * it holds no flags or layer room and is never rolled back to again.
   */
  private rollback(exp: ExperimentRecord, actor: Actor, reason: string): void {
    const from = exp.activeVersion!;
    const target = this.deps.intents
      .listVersions(exp.key)
      .filter((v) => v.version < from && v.status === 'approved' && v.retiredAt === null)
      .pop();
    const at = this.deps.clock.now().toISOString();
    this.deps.intents.retire(exp.key, from, at);
    if (!target) {
      this.setActive(exp, null, 'draft', null, actor, 'rolled_back', reason, { from_version: from, to_version: null });
      return;
    }
    const claims = this.deps.intents.liveFlagClaims(exp.key, target.intent.services);
    if (claims.length > 0) {
      throw new ConflictError(
        'flag_conflict',
        `Cannot roll back ${exp.key} to version ${target.version}: ${claims.map((c) => `${c.service}/${c.flag} is driven by ${c.key}`).join('; ')}`,
      );
    }
    if (target.intent.layer) this.ensureSlice(target);
    const now = this.deps.clock.now();
    const start = target.intent.schedule?.start ? new Date(target.intent.schedule.start) : null;
    const state: ExperimentState =
      start && start > now ? 'scheduled' : exp.state === 'paused' ? 'paused' : 'running';
    const due = state === 'scheduled' ? start!.toISOString() : endOf(target);
    this.setActive(exp, target.version, state, due, actor, 'rolled_back', reason, { from_version: from, to_version: target.version });
  }

  /** A version returning to service gets its old slice back if still free, else the first fit. */
  private ensureSlice(v: VersionRecord): void {
    const layer = v.intent.layer!;
    if (v.slice && this.deps.intents.layerSliceFree(v.key, layer, v.slice)) return;
    const slice = this.deps.intents.layerFirstFit(v.key, layer, exposureBuckets(v.intent.exposure));
    if (!slice) {
      throw new ConflictError('layer_capacity', `Layer ${v.intent.layer} has no room left for version ${v.version} of ${v.key}`);
    }
    this.deps.intents.setSlice(v.key, v.version, slice);
  }

  /** Applies every transition that is due at the clock's current time; safe to call at any time, twice. */
  tick(): { started: string[]; expired: string[]; lagMs: number; blocked: string[] } {
    const started: string[] = [];
    const expired: string[] = [];
    /** Due starts refused because a document would exceed the cap: they stay scheduled and are retried. */
    const blocked: string[] = [];
    let lagMs = 0;
    const now = this.deps.clock.now();
    for (const due of this.deps.intents.listDue(now.toISOString())) {
      try {
        this.tickOne(due.key, now, started, expired, (ms) => (lagMs = Math.max(lagMs, ms)));
      } catch (err) {
        if (!(err instanceof DocumentTooLargeError)) throw err;
        blocked.push(due.key);
      }
    }
    return { started, expired, lagMs, blocked };
  }

  private tickOne(key: string, now: Date, started: string[], expired: string[], lag: (ms: number) => void): void {
    this.transaction(() => {
      // Re-read inside the transaction: another process or an earlier tick may have moved it.
      const exp = this.deps.intents.getExperiment(key);
      if (!exp || exp.dueAt === null || new Date(exp.dueAt) > now || exp.activeVersion === null) return;
      lag(now.getTime() - new Date(exp.dueAt).getTime());
      const v = this.deps.intents.getVersion(exp.key, exp.activeVersion)!;
      const end = v.intent.schedule?.end ? new Date(v.intent.schedule.end) : null;
      if (exp.state === 'scheduled' && !(end && end <= now)) {
        this.setActive(exp, exp.activeVersion, 'running', endOf(v), SYSTEM_ACTOR, 'started');
        started.push(exp.key);
      } else if (exp.state === 'scheduled' || exp.state === 'running' || exp.state === 'paused') {
        this.setActive(exp, exp.activeVersion, 'completed', null, SYSTEM_ACTOR, 'expired', 'schedule.end reached');
        expired.push(exp.key);
      }
    });
  }

  /**
   * Runs fn in one transaction and publishes the flag changes it made once the outermost
   * transaction has committed; on rollback they are dropped, so no stream ever shows them.
   */
  transaction<T>(fn: () => T): T {
    if (this.depth > 0) return this.deps.tx.run(fn);
    this.depth++;
    try {
      const result = this.deps.tx.run(fn);
      const changes = this.pending;
      this.pending = [];
      this.deps.flags.publish(changes);
      return result;
    } finally {
      this.depth--;
      this.pending = [];
      // Committed or rolled back: the layer spaces re-read what it wrote, from the committed rows.
      this.deps.intents.settleLayers();
    }
  }

  private setActive(
    exp: ExperimentRecord,
    activeVersion: number | null,
    state: ExperimentState,
    dueAt: string | null,
    actor: Actor,
    event: AuditEventType | null,
    reason?: string,
    extra: Record<string, unknown> = {},
  ): void {
    const at = this.deps.clock.now().toISOString();
    const previous = exp.activeVersion !== null ? this.deps.intents.getVersion(exp.key, exp.activeVersion) : undefined;
    const next = activeVersion !== null ? this.deps.intents.getVersion(exp.key, activeVersion) : undefined;
    this.deps.intents.setActive(exp.key, activeVersion, state, dueAt, at);
    const drives = next && (state === 'running' || state === 'paused');
    const flags = drives ? this.flagsFor(next, state === 'running') : new Map();
    const services = new Set<string>([
      ...(previous?.intent.services.map((s) => s.service) ?? []),
      ...(next?.intent.services.map((s) => s.service) ?? []),
    ]);
    const decision = next?.decisionId ? this.deps.decisions.get(next.decisionId) : undefined;
    // The kill switch (pausing the version that runs) is never refused for size.
    const killSwitch = state === 'paused' && exp.state === 'running' && activeVersion === exp.activeVersion;
    const changes = this.deps.flags.replaceExperiment(
      exp.key,
      services,
      flags,
      {
        type: event ?? state,
        experiment: exp.key,
        experiment_version: next?.version ?? null,
        decision_id: next?.decisionId ?? null,
        policy_revision: decision?.policyRevision ?? null,
        actor: actor.name,
        ...(extra['detail'] ? { detail: extra['detail'] as Record<string, unknown> } : {}),
      },
      { enforceCap: !killSwitch },
    );
    this.pending.push(...changes);
    if (event) {
      this.deps.audit.append({
        type: event,
        actor: actor.name,
        experiment: exp.key,
        version: activeVersion ?? exp.activeVersion ?? exp.currentVersion,
        data: {
          from_state: exp.state,
          to_state: state,
          ...(reason !== undefined ? { reason } : {}),
          ...extra,
          services: [...services].sort(),
          flags_versions: Object.fromEntries(changes.map((c) => [c.service, c.version])),
        },
      });
    }
  }

  /**
   * A flag's provenance is the decision it came from: its id, the policy revision that made it, who
   * submitted it and when (as in SPEC §5, where the approved example names its submitter). Who
   * paused, resumed or rolled it back, and when, is in the audit trail and the event feed.
   */
  private flagsFor(v: VersionRecord, enabled: boolean) {
    const decision = v.decisionId ? this.deps.decisions.get(v.decisionId) : undefined;
    return resolveFlagStates(v.intent, v.version, v.slice, enabled, {
      decision_id: v.decisionId ?? '',
      policy_revision: decision?.policyRevision ?? '',
      actor: decision?.actor ?? v.submittedBy,
      at: decision?.createdAt ?? v.submittedAt,
    });
  }

  private mustGet(key: string): ExperimentRecord {
    const exp = this.deps.intents.getExperiment(key);
    if (!exp) throw new NotFoundError('intent_not_found', `No intent with key ${key}`);
    return exp;
  }
}

function endOf(v: VersionRecord): string | null {
  return v.intent.schedule?.end ? new Date(v.intent.schedule.end).toISOString() : null;
}
