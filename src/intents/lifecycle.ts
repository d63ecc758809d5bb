import type { Actor } from '../access/actor.js';
import { SYSTEM_ACTOR } from '../access/actor.js';
import type { AuditEventType, AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { ConflictError, DocumentTooLargeError, NotFoundError } from '../errors.js';
import { resolveFlagStates, type Provenance, type Serving } from '../flags/flag-resolver.js';
import type { FlagStateService } from '../flags/flag-state-service.js';
import type { Slice } from '../flags/layer-allocator.js';
import type { ReadStores, Unit, UnitOfWork } from '../unit-of-work.js';
import { checkLifecycleAction, type LifecycleFacts } from './intent-actions.js';
import type { ExperimentRecord, ExperimentState, VersionRecord } from './intent-store.js';
import { exposureBuckets, type Intent, type Rollout } from './intent-schema.js';
import { autoDue, enterStage, rolloutView, servedBuckets, stageIndex, type AnalysisStatus, type RolloutAnalysis, type RolloutView } from './rollout.js';

/** The lifecycle actions of POST /v1/intents/{key}/actions besides `ship` (a new version, IntentService). */
export const LIFECYCLE_ACTIONS = ['pause', 'resume', 'rollback', 'complete', 'advance'] as const;
export type Action = (typeof LIFECYCLE_ACTIONS)[number];

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
  constructor(
    private readonly deps: {
      /** Reads outside a unit (the scheduler's due lists, the rollout view of GET). */
      read: Pick<ReadStores, 'intents' | 'rollouts' | 'decisions'>;
      flags: FlagStateService;
      audit: AuditLog;
      clock: Clock;
      tx: UnitOfWork;
      analysis: RolloutAnalysis;
      /** Called after each commit with the lifecycle audit events it wrote (metrics count advances and ships). */
      onCommitted?: (events: { type: string; actor: string }[]) => void;
    },
  ) {}

  /** First-fit room in the intent's layer among the slices other live experiments hold. */
  async reserveSlice(u: Unit, intent: Intent): Promise<Slice | null> {
    if (!intent.layer) return null;
    return (await u.intents.layerFirstFit(intent.key, intent.layer, exposureBuckets(intent.exposure)));
  }

  /**
   * Refuses (document_too_large) a version whose flags would push one of its services' documents
   * past the cap once live; checked at submission so nothing is stored. The write that makes it
   * live checks again, since other experiments may have grown the documents in between.
   */
  async assertRoom(u: Unit, intent: Intent, version: number, slice: Slice | null, provenance: Provenance, ship: string | null = null): Promise<void> {
    await this.deps.flags.assertFits(u.flags, intent.key, resolveFlagStates(intent, version, slice, true, provenance, { ship }));
  }

  /** A version just became approved: it goes live now, or is scheduled for its start. */
  async onApproved(u: Unit, key: string, version: number, actor: Actor): Promise<void> {
    const exp = await this.mustGet(u, key);
    const v = (await u.intents.getVersion(key, version))!;
    if (v.ship) {
      // Approved ship: every unit gets the variant in every service, until complete or rollback.
      await this.setActive(u, exp, version, 'shipped', null, actor, 'shipped', undefined, { variant: v.ship });
      return;
    }
    const now = this.deps.clock.now();
    const start = v.intent.schedule?.start ? new Date(v.intent.schedule.start) : null;
    const end = v.intent.schedule?.end ? new Date(v.intent.schedule.end) : null;
    // A paused experiment stays paused, whatever the new version's start: a new approved version
    // must not undo the kill switch (a resume moves it to scheduled if its start is still ahead).
    if (exp.state === 'paused') {
      await this.setActive(u, exp, version, 'paused', end ? end.toISOString() : null, actor, null);
      return;
    }
    if (start && start > now) {
      await this.setActive(u, exp, version, 'scheduled', start.toISOString(), actor, null);
      return;
    }
    await this.setActive(u, exp, version, 'running', end ? end.toISOString() : null, actor, 'started');
  }

  /**
   * `detail` (the analysis behind a guardrail's pause) goes into the audit event and onto the change
   * feed's entries, so a mirror sees why its flags were turned off.
   */
  async act(key: string, action: Action, reason: string | undefined, actor: Actor, detail?: Record<string, unknown>) {
    return this.transaction(async (u) => {
      const exp = await this.mustGet(u, key);
      // The one rule (src/intents/intent-actions.ts) that GET /v1/intents/{key} lists as allowed_actions.
      checkLifecycleAction(actor, await this.actionFacts(u, exp), action);
      switch (action) {
        case 'pause':
          await this.markPausedBy(u, key, actor.name);
          await this.setActive(u, exp, exp.activeVersion, 'paused', exp.dueAt, actor, 'paused', reason, detail ? { detail } : {});
          break;
        case 'resume': {
          // A person's resume clears a guardrail halt (SPEC §10.2).
          await this.markPausedBy(u, key, null);
          const v = (await u.intents.getVersion(key, exp.activeVersion!))!;
          const start = v.intent.schedule?.start;
          if (start && new Date(start) > this.deps.clock.now()) {
            await this.setActive(u, exp, exp.activeVersion, 'scheduled', new Date(start).toISOString(), actor, 'resumed', reason);
          } else {
            await this.setActive(u, exp, exp.activeVersion, 'running', endOf(v), actor, 'resumed', reason);
          }
          break;
        }
        case 'rollback':
          await this.rollback(u, exp, actor, reason);
          break;
        case 'complete':
          await this.setActive(u, exp, exp.activeVersion, 'completed', null, actor, 'completed', reason);
          break;
        case 'advance':
          await this.advance(u, exp, actor, reason);
          break;
      }
      return await this.mustGet(u, key);
    });
  }

  /**
   * What the action rule needs to know of an experiment (src/intents/intent-actions.ts): its state
   * and, for `advance`, the active version's rollout and where it stands.
   */
  async actionFacts(r: Pick<ReadStores, 'intents' | 'rollouts'>, exp: ExperimentRecord): Promise<LifecycleFacts> {
    const v = exp.activeVersion !== null ? await r.intents.getVersion(exp.key, exp.activeVersion) : undefined;
    const rollout = v && !v.ship ? v.intent.rollout : undefined;
    const progress = rollout ? await r.rollouts.get(exp.key) : undefined;
    const now = this.deps.clock.now();
    let analysis: AnalysisStatus = 'collecting';
    if (rollout) {
      // The analysis reads telemetry: asked only when every cheaper condition of an advance holds
      // (the order checkAdvance asks them in), so a detail read of a holding rollout costs no analysis.
      const stage = stageIndex(rollout, progress);
      const held = progress !== undefined && new Date(progress.holdUntil) > now;
      if (exp.state === 'running' && stage < rollout.stages.length - 1 && !held) analysis = await this.deps.analysis.status(exp.key);
    }
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
            analysis: () => analysis,
          }
        : null,
      now,
    };
  }

  /**
   * Back to the newest approved, not rolled-back version before the active one; without one, the
   * flags are removed and the experiment returns to draft. The rolled-back version is retired so
   * it holds no flags or layer room and is never rolled back to again.
   */
  private async rollback(u: Unit, exp: ExperimentRecord, actor: Actor, reason: string | undefined): Promise<void> {
    const from = exp.activeVersion!;
    const target = (await u.intents.listVersions(exp.key))
      .filter((v) => v.version < from && v.status === 'approved' && v.retiredAt === null && v.ship === null)
      .pop();
    const at = this.deps.clock.now().toISOString();
    await u.intents.retire(exp.key, from, at);
    if (!target) {
      await this.setActive(u, exp, null, 'draft', null, actor, 'rolled_back', reason, { from_version: from, to_version: null });
      return;
    }
    const claims = (await u.intents.liveFlagClaims(exp.key, target.intent.services));
    if (claims.length > 0) {
      throw new ConflictError(
        'flag_conflict',
        `Cannot roll back ${exp.key} to version ${target.version}: ${claims.map((c) => `${c.service}/${c.flag} is driven by ${c.key}`).join('; ')}`,
      );
    }
    if (target.intent.layer) await this.ensureSlice(u, target);
    const now = this.deps.clock.now();
    const start = target.intent.schedule?.start ? new Date(target.intent.schedule.start) : null;
    // A rollback while paused stays paused (the kill switch holds until a person resumes).
    const state: ExperimentState =
      exp.state === 'paused' ? 'paused' : start && start > now ? 'scheduled' : 'running';
    const due = state === 'scheduled' ? start!.toISOString() : endOf(target);
    await this.setActive(u, exp, target.version, state, due, actor, 'rolled_back', reason, { from_version: from, to_version: target.version });
  }

  /** A version returning to service gets its old slice back if still free, else the first fit. */
  private async ensureSlice(u: Unit, v: VersionRecord): Promise<void> {
    const layer = v.intent.layer!;
    if (v.slice && (await u.intents.layerSliceFree(v.key, layer, v.slice))) return;
    const slice = (await u.intents.layerFirstFit(v.key, layer, exposureBuckets(v.intent.exposure)));
    if (!slice) {
      throw new ConflictError('layer_capacity', `Layer ${v.intent.layer} has no room left for version ${v.version} of ${v.key}`);
    }
    await u.intents.setSlice(v.key, v.version, slice);
  }

  /** Applies every transition that is due at the clock's current time; safe to call at any time, twice. */
  async tick(): Promise<{ started: string[]; expired: string[]; advanced: string[]; lagMs: number; blocked: string[] }> {
    const started: string[] = [];
    const advanced: string[] = [];
    const expired: string[] = [];
    /** Due starts refused because a document would exceed the cap: they stay scheduled and are retried. */
    const blocked: string[] = [];
    let lagMs = 0;
    const now = this.deps.clock.now();
    for (const due of (await this.deps.read.intents.listDue(now.toISOString()))) {
      try {
        await this.tickOne(due.key, now, started, expired, (ms) => (lagMs = Math.max(lagMs, ms)));
      } catch (err) {
        if (!(err instanceof DocumentTooLargeError)) throw err;
        blocked.push(due.key);
      }
    }
    for (const key of (await this.deps.read.rollouts.listAutoDue(now.toISOString()))) {
      try {
        if (await this.autoAdvance(key, now)) advanced.push(key);
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
  private async autoAdvance(key: string, now: Date): Promise<boolean> {
    return this.transaction(async (u) => {
      const exp = (await u.intents.getExperiment(key));
      const progress = (await u.rollouts.get(key));
      if (!exp || !progress || progress.autoDueAt === null || new Date(progress.autoDueAt) > now) return false;
      const v = exp.activeVersion !== null ? (await u.intents.getVersion(key, exp.activeVersion)) : undefined;
      const rollout = v && !v.ship ? v.intent.rollout : undefined;
      const stage = rollout ? stageIndex(rollout, progress) : 0;
      if (exp.state !== 'running' || !rollout || !rollout.auto_advance || stage >= rollout.stages.length - 1) {
        await u.rollouts.put({ ...progress, autoDueAt: null });
        return false;
      }
      if (new Date(progress.holdUntil) > now || await this.deps.analysis.status(key) !== 'healthy') return false;
      await this.enterNextStage(u, exp, rollout, stage, SYSTEM_ACTOR, 'auto_advance: hold over, analysis healthy');
      return true;
    });
  }

  /** POST actions {"action":"advance"} (SPEC §10 "Advance"), inside act's transaction, once checkLifecycleAction let it through. */
  private async advance(u: Unit, exp: ExperimentRecord, actor: Actor, reason: string | undefined): Promise<void> {
    const v = (await u.intents.getVersion(exp.key, exp.activeVersion!))!;
    const rollout = v.intent.rollout!;
    await this.enterNextStage(u, exp, rollout, stageIndex(rollout, await u.rollouts.get(exp.key)), actor, reason);
  }

  /** Moves to stage + 1: new progress, flags re-derived (a new version per service), audit `advanced`. */
  private async enterNextStage(u: Unit, exp: ExperimentRecord, rollout: Rollout, stage: number, actor: Actor, reason: string | undefined): Promise<void> {
    const progress = (await u.rollouts.get(exp.key));
    await u.rollouts.put(enterStage(exp.key, rollout, stage + 1, this.deps.clock.now(), progress?.pausedBy ?? null));
    await this.setActive(u, exp, exp.activeVersion, 'running', exp.dueAt, actor, 'advanced', reason, {
      from_stage: stage,
      to_stage: stage + 1,
      from_exposure: rollout.stages[stage]!.exposure,
      to_exposure: rollout.stages[stage + 1]!.exposure,
    });
  }

  private async markPausedBy(u: Unit, key: string, name: string | null): Promise<void> {
    const progress = (await u.rollouts.get(key));
    if (progress) await u.rollouts.put({ ...progress, pausedBy: name, updatedAt: this.deps.clock.now().toISOString() });
  }

  /**
   * Keeps the rollout's progress in step with what drives the flags: a version with a rollout that
   * starts driving (running or paused) for the first time enters stage 0 now; a later version keeps
   * the stage reached (never past its own last stage). Automatic advance is due only while running.
   */
  private async syncProgress(u: Unit, key: string, next: VersionRecord | undefined, state: ExperimentState): Promise<void> {
    const rollout = next && !next.ship ? next.intent.rollout : undefined;
    const drives = state === 'running' || state === 'paused';
    const progress = (await u.rollouts.get(key));
    const now = this.deps.clock.now();
    if (rollout && drives) {
      if (!progress) {
        const entered = enterStage(key, rollout, 0, now, null);
        await u.rollouts.put({ ...entered, autoDueAt: state === 'running' ? entered.autoDueAt : null });
        return;
      }
      const stage = stageIndex(rollout, progress);
      const due = state === 'running' ? autoDue(rollout, stage, progress.holdUntil) : null;
      if (stage !== progress.stage || due !== progress.autoDueAt) await u.rollouts.put({ ...progress, stage, autoDueAt: due, updatedAt: now.toISOString() });
    } else if (progress && progress.autoDueAt !== null) {
      await u.rollouts.put({ ...progress, autoDueAt: null, updatedAt: now.toISOString() });
    }
  }

  /** The `rollout` of GET /v1/intents/{key} (SPEC §10 "State"), or undefined without a rollout. */
  async rolloutState(exp: ExperimentRecord, current: VersionRecord): Promise<RolloutView | undefined> {
    const v = exp.activeVersion !== null ? (await this.deps.read.intents.getVersion(exp.key, exp.activeVersion)) : current;
    const rollout = v?.intent.rollout;
    if (!rollout) return undefined;
    return rolloutView(rollout, await this.deps.read.rollouts.get(exp.key), exp.state, await this.deps.analysis.status(exp.key), this.deps.clock.now());
  }

  private async tickOne(key: string, now: Date, started: string[], expired: string[], lag: (ms: number) => void): Promise<void> {
    await this.transaction(async (u) => {
      // Re-read inside the transaction: another process or an earlier tick may have moved it.
      const exp = (await u.intents.getExperiment(key));
      if (!exp || exp.dueAt === null || new Date(exp.dueAt) > now || exp.activeVersion === null) return;
      lag(now.getTime() - new Date(exp.dueAt).getTime());
      const v = (await u.intents.getVersion(exp.key, exp.activeVersion))!;
      const end = v.intent.schedule?.end ? new Date(v.intent.schedule.end) : null;
      if (exp.state === 'scheduled' && !(end && end <= now)) {
        await this.setActive(u, exp, exp.activeVersion, 'running', endOf(v), SYSTEM_ACTOR, 'started');
        started.push(exp.key);
      } else if (exp.state === 'scheduled' || exp.state === 'running' || exp.state === 'paused') {
        await this.setActive(u, exp, exp.activeVersion, 'completed', null, SYSTEM_ACTOR, 'expired', 'schedule.end reached');
        expired.push(exp.key);
      }
    });
  }

  /**
   * Runs fn in one unit of work (joining the caller's when there is one). The flag changes and the
   * audit events a transition makes are published from `Unit.afterCommit`: on rollback they are
   * dropped, so no stream ever shows them.
   */
  transaction<T>(fn: (u: Unit) => Promise<T>): Promise<T> {
    return this.deps.tx.run(fn);
  }

  private async setActive(
    u: Unit,
    exp: ExperimentRecord,
    activeVersion: number | null,
    state: ExperimentState,
    dueAt: string | null,
    actor: Actor,
    event: AuditEventType | null,
    reason?: string,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    const at = this.deps.clock.now().toISOString();
    const previous = exp.activeVersion !== null ? (await u.intents.getVersion(exp.key, exp.activeVersion)) : undefined;
    const next = activeVersion !== null ? (await u.intents.getVersion(exp.key, activeVersion)) : undefined;
    await u.intents.setActive(exp.key, activeVersion, state, dueAt, at);
    await this.syncProgress(u, exp.key, next, state);
    const drives = next && (state === 'running' || state === 'paused' || state === 'shipped');
    const flags = drives ? await this.flagsFor(u, next, state === 'running' || state === 'shipped') : new Map();
    const services = new Set<string>([
      ...(previous?.intent.services.map((s) => s.service) ?? []),
      ...(next?.intent.services.map((s) => s.service) ?? []),
    ]);
    const decision = next?.decisionId ? (await u.decisions.get(next.decisionId)) : undefined;
    // The kill switch (pausing the version that runs) is never refused for size.
    const killSwitch = state === 'paused' && exp.state === 'running' && activeVersion === exp.activeVersion;
    const changes = await this.deps.flags.replaceExperiment(
      u.flags,
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
    if (changes.length > 0) u.afterCommit(() => this.deps.flags.publish(changes));
    if (event) {
      const done = { type: event, actor: actor.name };
      u.afterCommit(() => this.deps.onCommitted?.([done]));
      await this.deps.audit.append(u, {
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
  private async flagsFor(u: Unit, v: VersionRecord, enabled: boolean) {
    const decision = v.decisionId ? (await u.decisions.get(v.decisionId)) : undefined;
    const serving: Serving = v.ship ? { ship: v.ship } : { buckets: servedBuckets(v.intent, (await u.rollouts.get(v.key))) };
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

  private async mustGet(u: Unit, key: string): Promise<ExperimentRecord> {
    const exp = (await u.intents.getExperiment(key));
    if (!exp) throw new NotFoundError('intent_not_found', `No intent with key ${key}`);
    return exp;
  }
}

function endOf(v: VersionRecord): string | null {
  return v.intent.schedule?.end ? new Date(v.intent.schedule.end).toISOString() : null;
}
