import type { Actor } from '../access/actor.js';
import { SYSTEM_ACTOR } from '../access/actor.js';
import type { AuditEventType, AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { ConflictError, DocumentTooLargeError, NotFoundError } from '../errors.js';
import { resolveFlagStates, type Provenance, type Serving } from '../flags/flag-resolver.js';
import type { FlagsChange, FlagStateService } from '../flags/flag-state-service.js';
import type { Slice } from '../flags/layer-allocator.js';
import type { DecisionStore } from '../storage/decision-store.js';
import type { ExperimentRecord, ExperimentState, IntentStore, VersionRecord } from '../storage/intent-store.js';
import type { RolloutStore } from '../storage/rollout-store.js';
import type { Transactor } from '../storage/transactor.js';
import { checkLifecycleAction, type LifecycleFacts } from './intent-actions.js';
import { exposureBuckets, type Intent, type Rollout } from './intent-schema.js';
import { autoDue, enterStage, rolloutView, servedBuckets, stageIndex, type RolloutAnalysis, type RolloutView } from './rollout.js';

export type Action = 'pause' | 'resume' | 'rollback' | 'complete' | 'advance';

/**
 * The experiment state machine (SPEC §4) and the only writer of flag states. Every transition
 * re-derives the experiment's flags from (active version, state) and hands the changed service
 * documents to FlagStateService; listeners hear of them once the surrounding transaction commits.
 *
 *   draft ──approved──▶ scheduled ──start──▶ running ◀──resume── paused
 *                          │                  │  ──pause──▶        │
 *                          │                  └─ ship approved ─▶ shipped ◀┘ (rollback: back to running)
 *                          └──────── end / complete / rollback ────┴──▶ completed
 *
 * A running rollout (SPEC §10) moves stage by stage with `advance` (or the scheduler's auto
 * advance); its progress lives in rollout_progress, and every stage re-derives the flags.
 */
export class Lifecycle {
  /** Changes made in the transaction under way, published when it commits. */
  private pending: FlagsChange[] = [];
  /** Audit event types (with the actor) written by the open transaction, reported once it commits. */
  private pendingEvents: { type: string; actor: string }[] = [];
  private depth = 0;

  constructor(
    private readonly deps: {
      intents: IntentStore;
      decisions: DecisionStore;
      flags: FlagStateService;
      audit: AuditLog;
      clock: Clock;
      tx: Transactor;
      rollouts: RolloutStore;
      analysis: RolloutAnalysis;
      /** Called after each commit with the lifecycle audit events it wrote (metrics count advances and ships). */
      onCommitted?: (events: { type: string; actor: string }[]) => void;
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
  assertRoom(intent: Intent, version: number, slice: Slice | null, provenance: Provenance, ship: string | null = null): void {
    this.deps.flags.assertFits(intent.key, resolveFlagStates(intent, version, slice, true, provenance, { ship }));
  }

  /** A version just became approved: it goes live now, or is scheduled for its start. */
  onApproved(key: string, version: number, actor: Actor): void {
    const exp = this.mustGet(key);
    const v = this.deps.intents.getVersion(key, version)!;
    if (v.ship) {
      // Approved ship: every unit gets the variant in every service, until complete or rollback.
      this.setActive(exp, version, 'shipped', null, actor, 'shipped', undefined, { variant: v.ship });
      return;
    }
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
  act(key: string, action: Action, reason: string | undefined, actor: Actor, detail?: Record<string, unknown>) {
    return this.transaction(() => {
      const exp = this.mustGet(key);
      // The one rule (src/intents/intent-actions.ts) that GET /v1/intents/{key} lists as allowed_actions.
      checkLifecycleAction(actor, this.actionFacts(exp), action);
      switch (action) {
        case 'pause':
          this.markPausedBy(key, actor.name);
          this.setActive(exp, exp.activeVersion, 'paused', exp.dueAt, actor, 'paused', reason, detail ? { detail } : {});
          break;
        case 'resume': {
          // A person's resume clears a guardrail halt (SPEC §10.2).
          this.markPausedBy(key, null);
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
          this.rollback(exp, actor, reason);
          break;
        case 'complete':
          this.setActive(exp, exp.activeVersion, 'completed', null, actor, 'completed', reason);
          break;
        case 'advance':
          this.advance(exp, actor, reason);
          break;
      }
      return this.mustGet(key);
    });
  }

  /**
   * What the action rule needs to know of an experiment (src/intents/intent-actions.ts): its state
   * and, for `advance`, the active version's rollout and where it stands.
   */
  actionFacts(exp: ExperimentRecord): LifecycleFacts {
    const v = exp.activeVersion !== null ? this.deps.intents.getVersion(exp.key, exp.activeVersion) : undefined;
    const rollout = v && !v.ship ? v.intent.rollout : undefined;
    const progress = rollout ? this.deps.rollouts.get(exp.key) : undefined;
    return {
      key: exp.key,
      owner: exp.owner,
      state: exp.state,
      activeVersion: exp.activeVersion,
      rollout: rollout
        ? {
            stage: stageIndex(rollout, progress),
            exposures: rollout.stages.map((s) => s.exposure),
            holdUntil: progress?.holdUntil ?? null,
            analysis: () => this.deps.analysis.status(exp.key),
          }
        : null,
      now: this.deps.clock.now(),
    };
  }

  /**
   * Back to the newest approved, not rolled-back version before the active one; without one, the
   * flags are removed and the experiment returns to draft. The rolled-back version is retired so
   * it holds no flags or layer room and is never rolled back to again.
   */
  private rollback(exp: ExperimentRecord, actor: Actor, reason: string | undefined): void {
    const from = exp.activeVersion!;
    const target = this.deps.intents
      .listVersions(exp.key)
      .filter((v) => v.version < from && v.status === 'approved' && v.retiredAt === null && v.ship === null)
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
  tick(): { started: string[]; expired: string[]; advanced: string[]; lagMs: number; blocked: string[] } {
    const started: string[] = [];
    const advanced: string[] = [];
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
    for (const key of this.deps.rollouts.listAutoDue(now.toISOString())) {
      try {
        if (this.autoAdvance(key, now)) advanced.push(key);
      } catch (err) {
        if (!(err instanceof DocumentTooLargeError)) throw err;
        blocked.push(key);
      }
    }
    return { started, expired, advanced, lagMs, blocked };
  }

  /**
   * SPEC §10 auto_advance: once the hold is over and the analysis is healthy, the next stage, as the
   * system actor. Re-checked inside the transaction against the stored progress, so two ticks (or
   * two processes) advance a due stage once; a stage not advanced (analysis not healthy) stays due
   * and is looked at again next tick.
   */
  private autoAdvance(key: string, now: Date): boolean {
    return this.transaction(() => {
      const exp = this.deps.intents.getExperiment(key);
      const progress = this.deps.rollouts.get(key);
      if (!exp || !progress || progress.autoDueAt === null || new Date(progress.autoDueAt) > now) return false;
      const v = exp.activeVersion !== null ? this.deps.intents.getVersion(key, exp.activeVersion) : undefined;
      const rollout = v && !v.ship ? v.intent.rollout : undefined;
      const stage = rollout ? stageIndex(rollout, progress) : 0;
      if (exp.state !== 'running' || !rollout || !rollout.auto_advance || stage >= rollout.stages.length - 1) {
        this.deps.rollouts.put({ ...progress, autoDueAt: null });
        return false;
      }
      if (new Date(progress.holdUntil) > now || this.deps.analysis.status(key) !== 'healthy') return false;
      this.enterNextStage(exp, rollout, stage, SYSTEM_ACTOR, 'auto_advance: hold over, analysis healthy');
      return true;
    });
  }

  /** POST actions {"action":"advance"} (SPEC §10 "Advance"), inside act's transaction, once checkLifecycleAction let it through. */
  private advance(exp: ExperimentRecord, actor: Actor, reason: string | undefined): void {
    const v = this.deps.intents.getVersion(exp.key, exp.activeVersion!)!;
    const rollout = v.intent.rollout!;
    this.enterNextStage(exp, rollout, stageIndex(rollout, this.deps.rollouts.get(exp.key)), actor, reason);
  }

  /** Moves to stage + 1: new progress, flags re-derived (a new version per service), audit `advanced`. */
  private enterNextStage(exp: ExperimentRecord, rollout: Rollout, stage: number, actor: Actor, reason: string | undefined): void {
    const progress = this.deps.rollouts.get(exp.key);
    this.deps.rollouts.put(enterStage(exp.key, rollout, stage + 1, this.deps.clock.now(), progress?.pausedBy ?? null));
    this.setActive(exp, exp.activeVersion, 'running', exp.dueAt, actor, 'advanced', reason, {
      from_stage: stage,
      to_stage: stage + 1,
      from_exposure: rollout.stages[stage]!.exposure,
      to_exposure: rollout.stages[stage + 1]!.exposure,
    });
  }

  private markPausedBy(key: string, name: string | null): void {
    const progress = this.deps.rollouts.get(key);
    if (progress) this.deps.rollouts.put({ ...progress, pausedBy: name, updatedAt: this.deps.clock.now().toISOString() });
  }

  /**
   * Keeps the rollout's progress in step with what drives the flags: a version with a rollout that
   * starts driving (running or paused) for the first time enters stage 0 now; a later version keeps
   * the stage reached (never past its own last stage). Automatic advance is due only while running.
   */
  private syncProgress(key: string, next: VersionRecord | undefined, state: ExperimentState): void {
    const rollout = next && !next.ship ? next.intent.rollout : undefined;
    const drives = state === 'running' || state === 'paused';
    const progress = this.deps.rollouts.get(key);
    const now = this.deps.clock.now();
    if (rollout && drives) {
      if (!progress) {
        const entered = enterStage(key, rollout, 0, now, null);
        this.deps.rollouts.put({ ...entered, autoDueAt: state === 'running' ? entered.autoDueAt : null });
        return;
      }
      const stage = stageIndex(rollout, progress);
      const due = state === 'running' ? autoDue(rollout, stage, progress.holdUntil) : null;
      if (stage !== progress.stage || due !== progress.autoDueAt) this.deps.rollouts.put({ ...progress, stage, autoDueAt: due, updatedAt: now.toISOString() });
    } else if (progress && progress.autoDueAt !== null) {
      this.deps.rollouts.put({ ...progress, autoDueAt: null, updatedAt: now.toISOString() });
    }
  }

  /** The `rollout` of GET /v1/intents/{key} (SPEC §10 "State"), or undefined without a rollout. */
  rolloutState(exp: ExperimentRecord, current: VersionRecord): RolloutView | undefined {
    const v = exp.activeVersion !== null ? this.deps.intents.getVersion(exp.key, exp.activeVersion) : current;
    const rollout = v?.intent.rollout;
    if (!rollout) return undefined;
    return rolloutView(rollout, this.deps.rollouts.get(exp.key), exp.state, this.deps.analysis.status(exp.key), this.deps.clock.now());
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
      const events = this.pendingEvents;
      this.pending = [];
      this.pendingEvents = [];
      this.deps.flags.publish(changes);
      if (events.length > 0) this.deps.onCommitted?.(events);
      return result;
    } finally {
      this.depth--;
      this.pending = [];
      this.pendingEvents = [];
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
    this.syncProgress(exp.key, next, state);
    const drives = next && (state === 'running' || state === 'paused' || state === 'shipped');
    const flags = drives ? this.flagsFor(next, state === 'running' || state === 'shipped') : new Map();
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
      this.pendingEvents.push({ type: event, actor: actor.name });
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
    const serving: Serving = v.ship ? { ship: v.ship } : { buckets: servedBuckets(v.intent, this.deps.rollouts.get(v.key)) };
    return resolveFlagStates(
      v.intent,
      v.version,
      v.slice,
      enabled,
      {
        decision_id: v.decisionId ?? '',
        policy_revision: decision?.policyRevision ?? '',
        actor: decision?.actor ?? v.submittedBy,
        at: decision?.createdAt ?? v.submittedAt,
      },
      serving,
    );
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
