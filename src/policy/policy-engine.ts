import { z } from 'zod';
import { PolicyError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PolicyBundle } from './policy-bundle.js';
import type { PolicyInput } from './policy-input.js';
import { DECISION_ENTRYPOINT, PolicyTimeoutError, type PolicyRunner } from './policy-runner.js';

export { DECISION_ENTRYPOINT };

const ViolationSchema = z.object({
  code: z.string(),
  policy: z.string(),
  message: z.string(),
  service: z.string().optional(),
  data_class: z.string().optional(),
});

/** What the policy must answer: anything else is a broken policy, and broken policies deny. */
export const PolicyDecisionSchema = z.object({
  allow: z.boolean(),
  violations: z.array(ViolationSchema),
  obligations: z.object({
    approvals: z.array(z.object({ role: z.string(), count: z.number().int().min(0) })),
    audit: z.object({ level: z.string(), retention_days: z.number() }),
  }),
  limits: z.record(z.string(), z.unknown()),
});

export type PolicyDecision = z.infer<typeof PolicyDecisionSchema>;
export type Violation = z.infer<typeof ViolationSchema>;

export interface PolicyEvaluation {
  revision: string;
  decision: PolicyDecision;
  /** True when the decision is the engine's own fail-closed denial, not the policy's answer. */
  failedClosed: boolean;
}

/** The narrow view the decision code needs. */
export interface PolicyEvaluator {
  evaluate(input: PolicyInput): PolicyEvaluation;
}

export interface ServiceCatalog {
  /** False when no policy is loaded: there is then no catalog to check a service name against. */
  readonly available: boolean;
  has(service: string): boolean;
  services(): string[];
  /** Each service with its tier (null when the catalog data gives none), sorted by service. */
  tiers(): { service: string; tier: string | null }[];
}

/** A policy instance loaded from one bundle. */
export class LoadedBundle {
  private constructor(
    readonly bundle: PolicyBundle,
    private readonly runner: PolicyRunner,
  ) {}

  /**
   * Instantiates the wasm in the runner, loads its data and proves the entrypoint answers a probe in
   * the expected shape. Any failure is `policy_invalid`, a probe past the deadline `policy_timeout`:
   * a bundle that cannot answer is never activated.
   */
  static async load(bundle: PolicyBundle, probe: PolicyInput, runner: PolicyRunner): Promise<LoadedBundle> {
    let entrypoints: string[];
    try {
      entrypoints = await runner.load(bundle.revision, bundle.wasm, bundle.data);
    } catch (err) {
      if (err instanceof PolicyTimeoutError) throw timedOut('load', err.timeoutMs);
      throw new PolicyError('policy_invalid', `The policy wasm does not load: ${describe(err)}`);
    }
    const loaded = new LoadedBundle(bundle, runner);
    if (!entrypoints.includes(DECISION_ENTRYPOINT)) {
      throw new PolicyError(
        'policy_invalid',
        `The policy has no entrypoint ${DECISION_ENTRYPOINT} (it has: ${entrypoints.join(', ') || 'none'}); build with -e ${DECISION_ENTRYPOINT}`,
      );
    }
    try {
      loaded.evaluateRaw(probe);
    } catch (err) {
      if (err instanceof PolicyTimeoutError) throw timedOut('answer a probe intent', err.timeoutMs);
      throw new PolicyError('policy_invalid', `The policy does not answer a probe intent: ${describe(err)}`);
    }
    return loaded;
  }

  get revision(): string {
    return this.bundle.revision;
  }

  /** Evaluates and checks the answer's shape; throws on any failure (callers decide how to fail). */
  evaluateRaw(input: PolicyInput): PolicyDecision {
    const resultSet: unknown = this.runner.evaluate(this.bundle.revision, input);
    if (!Array.isArray(resultSet) || resultSet.length === 0) {
      throw new Error('the decision rule is undefined for this input');
    }
    const parsed = PolicyDecisionSchema.safeParse((resultSet[0] as { result?: unknown }).result);
    if (!parsed.success) {
      throw new Error(`the decision has the wrong shape: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    const d = parsed.data;
    // allow must agree with the violations; a policy that says otherwise is not trusted.
    if (d.allow !== (d.violations.length === 0)) {
      throw new Error('the decision says allow but lists violations (or the reverse)');
    }
    return d;
  }

  catalog(): ServiceCatalog {
    const services = catalogServices(this.bundle.data);
    return {
      available: true,
      has: (s) => Object.prototype.hasOwnProperty.call(services, s),
      services: () => Object.keys(services).sort(),
      tiers: () =>
        Object.keys(services)
          .sort()
          .map((service) => {
            const entry = services[service] as { tier?: unknown } | null;
            return { service, tier: entry && typeof entry.tier === 'string' ? entry.tier : null };
          }),
    };
  }
}

/** A candidate that does not finish a check within its deadline is refused like an invalid one, with its own code. */
export function timedOut(what: string, timeoutMs: number): PolicyError {
  return new PolicyError(
    'policy_timeout',
    `The policy bundle did not ${what} within ${timeoutMs} ms (SWITCHYARD_POLICY_*_TIMEOUT_MS); it is refused and the active policy stays`,
  );
}

function catalogServices(data: Record<string, unknown>): Record<string, unknown> {
  const sw = data['switchyard'] as Record<string, unknown> | undefined;
  const catalog = sw?.['catalog'] as Record<string, unknown> | undefined;
  const services = catalog?.['services'];
  return services && typeof services === 'object' && !Array.isArray(services) ? (services as Record<string, unknown>) : {};
}

/** The opa-wasm SDK throws strings, Error objects and plain objects; this turns all three into text. */
export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

export function failClosed(code: 'policy_unavailable' | 'policy_error' | 'policy_timeout', message: string): PolicyDecision {
  return {
    allow: false,
    violations: [{ code, policy: 'engine', message }],
    obligations: { approvals: [], audit: { level: 'full', retention_days: 400 } },
    limits: {},
  };
}

/**
 * Holds the active policy and evaluates in-process. It fails closed: no policy, an evaluation that
 * throws (out of wasm memory included) or an answer of the wrong shape becomes a denial carrying
 * `policy_unavailable` or `policy_error`, never an exception the caller has to handle.
 */
export class PolicyEngine implements PolicyEvaluator {
  private active: LoadedBundle | null = null;
  private readonly byRevision = new Map<string, LoadedBundle>();

  constructor(
    private readonly logger: Logger,
    /** Where every bundle the engine holds is instantiated (the sandbox worker in the server). */
    readonly runner: PolicyRunner,
  ) {}

  activate(loaded: LoadedBundle): void {
    this.active = loaded;
    this.remember(loaded);
  }

  /** Keeps a small number of past revisions loaded for replays. */
  remember(loaded: LoadedBundle): void {
    this.byRevision.delete(loaded.revision);
    this.byRevision.set(loaded.revision, loaded);
    while (this.byRevision.size > 8) {
      const oldest = this.byRevision.keys().next().value as string;
      if (oldest === this.active?.revision) {
        const keep = this.byRevision.get(oldest)!;
        this.byRevision.delete(oldest);
        this.byRevision.set(oldest, keep);
        continue;
      }
      this.byRevision.delete(oldest);
      this.runner.forget(oldest);
    }
  }

  loaded(revision: string): LoadedBundle | undefined {
    return this.byRevision.get(revision);
  }

  current(): LoadedBundle | null {
    return this.active;
  }

  revision(): string | null {
    return this.active?.revision ?? null;
  }

  catalog(): ServiceCatalog {
    return this.active?.catalog() ?? { available: false, has: () => false, services: () => [], tiers: () => [] };
  }

  evaluate(input: PolicyInput): PolicyEvaluation {
    return evaluateWith(this.active, input, this.logger);
  }
}

export function evaluateWith(loaded: LoadedBundle | null | undefined, input: PolicyInput, logger: Logger): PolicyEvaluation {
  if (!loaded) {
    return {
      revision: 'none',
      decision: failClosed('policy_unavailable', 'No policy bundle is loaded, so nothing can be allowed'),
      failedClosed: true,
    };
  }
  try {
    return { revision: loaded.revision, decision: loaded.evaluateRaw(input), failedClosed: false };
  } catch (err) {
    if (err instanceof PolicyTimeoutError) {
      logger.error({ revision: loaded.revision, timeoutMs: err.timeoutMs }, 'policy evaluation passed its deadline; denying');
      return {
        revision: loaded.revision,
        decision: failClosed('policy_timeout', `The policy did not answer within ${err.timeoutMs} ms, so nothing is allowed`),
        failedClosed: true,
      };
    }
    logger.error({ err: err instanceof Error ? err : new Error(describe(err)), revision: loaded.revision }, 'policy evaluation failed; denying');
    return {
      revision: loaded.revision,
      decision: failClosed('policy_error', `The policy failed to evaluate: ${describe(err)}`),
      failedClosed: true,
    };
  }
}
