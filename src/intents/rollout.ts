import { GUARDRAIL_ACTOR } from '../access/actor.js';
import { exposureBuckets, holdMs, type Intent, type Rollout } from './intent-schema.js';

/**
 * What the rollout needs to know of the analysis (SPEC §10.2): one word per experiment. The
 * telemetry analysis (src/telemetry/rollout-analysis.ts) implements it.
 */
export const ANALYSIS_STATUSES = ['healthy', 'collecting', 'regressed', 'srm'] as const;
export type AnalysisStatus = (typeof ANALYSIS_STATUSES)[number];

export interface RolloutAnalysis {
  status(key: string): Promise<AnalysisStatus>;
}


/** Where a running rollout is: stored per experiment (table rollout_progress). */
export interface RolloutProgress {
  key: string;
  stage: number;
  stageStartedAt: string;
  holdUntil: string;
  /** When the scheduler should next try to advance by itself (auto_advance, not at the last stage), else null. */
  autoDueAt: string | null;
  /** Who paused it last (null once resumed): `guardrail` makes the rollout `halted`. */
  pausedBy: string | null;
  updatedAt: string;
}

export const ROLLOUT_STATUSES = ['holding', 'ready', 'blocked', 'complete', 'halted'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

export interface RolloutView {
  stage: number;
  stages: number;
  exposure: number;
  hold_until: string | null;
  status: RolloutStatus;
}

/** The stage index a version serves: the stored one, never past its own last stage. */
export function stageIndex(rollout: Rollout, progress: RolloutProgress | undefined): number {
  return Math.min(progress?.stage ?? 0, rollout.stages.length - 1);
}

/**
 * How many buckets of the final slice a version serves now: the stage's exposure with a rollout,
 * else the whole exposure. The served slice is `[start, start + this)`, growing from one start, so
 * an advance only adds units (SPEC §10 "Serving").
 */
export function servedBuckets(intent: Intent, progress: RolloutProgress | undefined): number {
  if (!intent.rollout) return exposureBuckets(intent.exposure);
  return exposureBuckets(intent.rollout.stages[stageIndex(intent.rollout, progress)]!.exposure);
}

/** When the hold of `stage` started at `startedAt` is over. */
export function holdUntil(rollout: Rollout, stage: number, startedAt: Date): string {
  return new Date(startedAt.getTime() + (holdMs(rollout.stages[stage]!.hold) as number)).toISOString();
}

/** The progress of a rollout entering `stage` at `at`. */
export function enterStage(key: string, rollout: Rollout, stage: number, at: Date, pausedBy: string | null): RolloutProgress {
  const until = holdUntil(rollout, stage, at);
  return {
    key,
    stage,
    stageStartedAt: at.toISOString(),
    holdUntil: until,
    autoDueAt: autoDue(rollout, stage, until),
    pausedBy,
    updatedAt: at.toISOString(),
  };
}

export function autoDue(rollout: Rollout, stage: number, holdUntilAt: string): string | null {
  return rollout.auto_advance && stage < rollout.stages.length - 1 ? holdUntilAt : null;
}

/** SPEC §10 "State": halted (paused by the guardrail) > complete > blocked > holding > ready. */
export function rolloutView(
  rollout: Rollout,
  progress: RolloutProgress | undefined,
  state: string,
  analysis: AnalysisStatus,
  now: Date,
): RolloutView {
  const stage = stageIndex(rollout, progress);
  const holding = !progress || new Date(progress.holdUntil) > now;
  const status: RolloutStatus =
    state === 'paused' && progress?.pausedBy === GUARDRAIL_ACTOR.name
      ? 'halted'
      : stage === rollout.stages.length - 1
        ? 'complete'
        : analysis === 'regressed' || analysis === 'srm'
          ? 'blocked'
          : holding
            ? 'holding'
            : 'ready';
  return { stage, stages: rollout.stages.length, exposure: rollout.stages[stage]!.exposure, hold_until: progress?.holdUntil ?? null, status };
}
