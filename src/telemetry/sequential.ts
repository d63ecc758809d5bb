import jstat from 'jstat';
import type { Better } from './metric-catalog.js';

const chisquareCdf = (x: number, dof: number): number => jstat.jStat.chisquare.cdf(x, dof);

/**
 * The statistics of SPEC §10.2, as pure functions of running sums (docs/adr/0006-guardrail-statistics.md).
 *
 * - Sample-ratio mismatch: Pearson's chi-square test of exposed units per arm against the weights.
 * - Relative change: (arm mean − control mean) / control mean, with an always-valid interval from
 *   the mixture sequential probability ratio test (mSPRT) of Johari, Koomen, Pekelis and Walsh
 *   ("Always valid inference", Operations Research 2022), applied to the delta-method estimate of
 *   the relative change. The interval holds at every look at once, so the guardrail loop may
 *   analyse after every batch without inflating the false-trip rate.
 */

/** Running sums over per-unit values: n units, Σx, Σx². */
export interface Sums {
  n: number;
  sum: number;
  sumsq: number;
}

export const EMPTY_SUMS: Sums = Object.freeze({ n: 0, sum: 0, sumsq: 0 });

/** The significance below which a sample-ratio mismatch is flagged (SPEC §10.2). */
export const SRM_P_VALUE = 0.001;

/** Total error rate of the intervals of one analysis (split over its guardrails and arms). */
export const ALPHA = 0.05;

/**
 * Standard deviation τ of the normal mixture over the relative change. The mSPRT's interval is
 * tightest while the estimate's variance is near τ², and widens fast once the variance is well
 * above it (few units), but only logarithmically once it is well below (many units). 0.25 needs the
 * fewest units for 25 % regressions and stays within 10 % of the best fixed τ for 10 % and 50 %
 * ones (the table in docs/adr/0006-guardrail-statistics.md).
 */
export const MIXTURE_TAU = 0.25;

/** Fewer units than this with the metric in either arm: the guardrail is `collecting`. */
export const MIN_UNITS = 100;

export function mean(s: Sums): number {
  return s.n > 0 ? s.sum / s.n : 0;
}

/** The unbiased sample variance; never negative (running sums may round a hair below zero). */
export function variance(s: Sums): number {
  if (s.n < 2) return 0;
  return Math.max(0, (s.sumsq - (s.sum * s.sum) / s.n) / (s.n - 1));
}

export interface SrmResult {
  p_value: number;
  flagged: boolean;
}

/**
 * Pearson's chi-square goodness of fit of the units per arm to the weights. Arms of weight 0 take
 * no units by construction and are left out (SPEC §6 never places a unit in one).
 */
export function sampleRatioMismatch(units: readonly number[], weights: readonly number[]): SrmResult {
  let total = 0;
  let weightSum = 0;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i]! > 0) {
      total += units[i] ?? 0;
      weightSum += weights[i]!;
    }
  }
  let k = 0;
  let stat = 0;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i]! <= 0) continue;
    k++;
    const expected = (total * weights[i]!) / weightSum;
    const d = (units[i] ?? 0) - expected;
    if (expected > 0) stat += (d * d) / expected;
  }
  if (total === 0 || k < 2) return { p_value: 1, flagged: false };
  const p = Math.min(1, Math.max(0, 1 - chisquareCdf(stat, k - 1)));
  return { p_value: p, flagged: p < SRM_P_VALUE };
}

export interface RelativeChange {
  /** (arm mean − control mean) / control mean. */
  estimate: number;
  /** Always-valid interval on the relative change at level 1 − alpha. */
  interval: [number, number];
}

/**
 * Half-width of the mSPRT's always-valid interval for an estimate of variance `v` (Johari et al.,
 * eq. 11 inverted): the set of θ whose mixture likelihood ratio stays below 1/α.
 */
export function msprtHalfWidth(v: number, alpha: number, tau: number = MIXTURE_TAU): number {
  if (!(v > 0)) return 0;
  const t2 = tau * tau;
  return Math.sqrt(((v * (v + t2)) / t2) * (2 * Math.log(1 / alpha) + Math.log((v + t2) / v)));
}

/**
 * The relative change of `arm` against `control` and its always-valid interval, or null when the
 * control mean is not positive (a relative change of a zero base is not defined).
 * The delta method gives the variance of the ratio of two independent means:
 * Var(m_a / m_c) ≈ s_a² / (n_a m_c²) + m_a² s_c² / (n_c m_c⁴).
 */
export function relativeChange(control: Sums, arm: Sums, alpha: number = ALPHA, tau: number = MIXTURE_TAU): RelativeChange | null {
  if (control.n < 1 || arm.n < 1) return null;
  const mc = mean(control);
  const ma = mean(arm);
  if (!(mc > 0)) return null;
  const estimate = ma / mc - 1;
  const v = variance(arm) / (arm.n * mc * mc) + (ma * ma * variance(control)) / (control.n * mc * mc * mc * mc);
  const h = msprtHalfWidth(v, alpha, tau);
  return { estimate, interval: [estimate - h, estimate + h] };
}

/**
 * Whether an interval lies entirely beyond the tolerated regression in the metric's bad direction:
 * above +max_regression when lower is better, below −max_regression when higher is.
 */
export function regressed(interval: readonly [number, number], better: Better, maxRegression: number): boolean {
  return better === 'lower' ? interval[0] > maxRegression : interval[1] < -maxRegression;
}
