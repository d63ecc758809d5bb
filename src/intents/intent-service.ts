import { createHash } from 'node:crypto';
import { ulid } from 'ulid';
import type { Actor } from '../access/actor.js';
import { READERS, requireRole, requireTeamAccess } from '../access/actor.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { PolicyDecision, PolicyEvaluator } from '../policy/policy-engine.js';
import { buildPolicyInput } from '../policy/policy-input.js';
import type { ReadStores, Unit } from '../unit-of-work.js';
import type { DecisionReader } from '../policy/decision-store.js';
import type { ApprovalRecord, ExperimentRecord, IntentReader, VersionRecord, VersionStatus } from './intent-store.js';
import { approvalsOwed, type OutstandingApproval } from './approvals-owed.js';
import { allowedActions, approvalFills, checkApproval, checkEdit, checkShip, mayEdit, requireActionRole, type ApprovalFacts } from './intent-actions.js';
import { exposureBuckets, IntentSchema, type Intent } from './intent-schema.js';
import type { Lifecycle } from './lifecycle.js';
import { zodFieldErrors } from './validation.js';

/** The decision as clients see it (SPEC §3). */
export interface DecisionView {
  id: string;
  policy_revision: string;
  allow: boolean;
  violations: PolicyDecision['violations'];
  obligations: PolicyDecision['obligations'];
  limits: PolicyDecision['limits'];
}

export interface SubmitResult {
  intent: { key: string; version: number };
  status: VersionStatus;
  state: ExperimentRecord['state'];
  decision: DecisionView;
}

export type { OutstandingApproval };

/**
 * What an approver read, to pin the approval to it (SPEC §4). Absent fields pin nothing: an
 * approval without either approves whatever version is current.
 */
export interface ApprovalRequest {
  comment?: string | undefined;
  /** The version number the approver read (the body's `version`). */
  version?: number | undefined;
  /** The entity tags of `If-Match`, or `'*'` (any current version: pins nothing). */
  ifMatch?: string[] | '*' | undefined;
}

/**
 * The strong entity tag of one intent version: `GET /v1/intents/{key}` sends it as `ETag`, and an
 * approval's `If-Match` names it. It stands for what an approver reads and approves, one stored
 * version of one intent, not for the bytes of the detail document: approvals and state changes on
 * the same version keep it, a new version changes it. The hash covers the key, the version and that
 * version's decision id and submission time, so a tag never matches another intent, nor a
 * same-numbered version of an intent submitted afresh under the same key. The `v<n>-` prefix is for
 * people reading logs; only the whole tag is compared.
 */
export function versionTag(v: Pick<VersionRecord, 'key' | 'version' | 'decisionId' | 'submittedAt'>): string {
  const hash = createHash('sha256').update(`${v.key}\n${v.version}\n${v.decisionId ?? ''}\n${v.submittedAt}`).digest('base64url').slice(0, 22);
  return `"v${v.version}-${hash}"`;
}

export function parseIntent(body: unknown): Intent {
  const parsed = IntentSchema.safeParse(body);
  if (!parsed.success) throw new ValidationError(zodFieldErrors(parsed.error), 'The intent is not valid');
  return parsed.data;
}

function statusFor(decision: PolicyDecision): VersionStatus {
  if (!decision.allow) return 'denied';
  return decision.obligations.approvals.some((a) => a.count > 0) ? 'pending_approval' : 'approved';
}

/**
 * Submitting, versioning, evaluating and approving intents. Each write is one transaction: the live
 * context is read, the policy evaluated, and the version, decision, layer slice and audit events
 * stored together, so two concurrent submissions can never both claim the same flag or layer room.
 */
export class IntentService {
  constructor(
    private readonly deps: {
      /** Reads outside a unit: committed rows (GET, lists, evaluate). */
      read: Pick<ReadStores, 'intents' | 'decisions' | 'rollouts'>;
      policy: PolicyEvaluator;
      audit: AuditLog;
      clock: Clock;
      lifecycle: Lifecycle;
    },
  ) {}

  /** POST /v1/intents:evaluate — the decision the intent would get now, nothing stored. */
  async evaluate(body: unknown, actor: Actor): Promise<Omit<SubmitResult, 'state'>> {
    requireRole(actor, READERS, 'evaluate intents');
    const intent = parseIntent(body);
    const { decision, revision, id } = await this.decide(this.deps.read.intents, intent, actor);
    return {
      intent: { key: intent.key, version: ((await this.deps.read.intents.getExperiment(intent.key))?.currentVersion ?? 0) + 1 },
      status: statusFor(decision),
      decision: view(id, revision, decision),
    };
  }

  async submit(body: unknown, actor: Actor): Promise<SubmitResult> {
    requireRole(actor, ['owner'], 'submit intents');
    const intent = parseIntent(body);
    requireTeamAccess(actor, intent.owner, `submit intents for team ${intent.owner}`, false);
    return this.deps.lifecycle.transaction(async (u) => {
      const existing = await u.intents.getExperiment(intent.key);
      if (existing?.state === 'archived') {
        throw new ConflictError('intent_exists', `The intent ${intent.key} is archived; its key stays reserved (the audit trail names it), so choose another key`);
      }
      if (existing) {
        throw new ConflictError('intent_exists', `An intent with key ${intent.key} exists already; send PUT /v1/intents/${intent.key} for a new version`);
      }
      await u.intents.createExperiment(intent.key, intent.owner, this.now());
      return await this.storeVersion(u, intent, 1, actor);
    });
  }

  /**
   * PUT /v1/intents/{key}: the next version. With `ifMatch` (the `If-Match` header carrying the
   * ETag of GET /v1/intents/{key}), a new version is refused with 409 version_changed unless the
   * version it was edited from is still the current one, so an edit never silently replaces a
   * version submitted meanwhile.
   */
  async update(key: string, body: unknown, actor: Actor, options: { ifMatch?: string[] | '*' | undefined } = {}): Promise<SubmitResult> {
    requireRole(actor, ['owner'], 'change intents');
    const intent = parseIntent(body);
    if (intent.key !== key) {
      throw new ValidationError([{ path: 'key', message: `must equal the key in the path (${key})` }], 'The body key does not match the path');
    }
    return this.deps.lifecycle.transaction(async (u) => {
      const exp = await u.intents.getExperiment(key);
      if (!exp) throw new NotFoundError('intent_not_found', `No intent with key ${key}`);
      // The rule GET /v1/intents/{key} reports as `editable` (src/intents/intent-actions.ts).
      checkEdit(actor, exp);
      requireTeamAccess(actor, intent.owner, `move an intent to team ${intent.owner}`, false);
      if (options.ifMatch !== undefined && options.ifMatch !== '*') {
        const current = (await u.intents.getVersion(key, exp.currentVersion))!;
        const tag = versionTag(current);
        if (!options.ifMatch.includes(tag)) {
          throw new ConflictError(
            'version_changed',
            `The version of ${key} that If-Match names is not the current version: version ${current.version} is (ETag ${tag}), submitted by ${current.submittedBy} at ${current.submittedAt}. ` +
              `Nothing was stored; read version ${current.version} and make your change on it.`,
            { current_version: current.version, current_etag: tag },
          );
        }
      }
      return await this.storeVersion(u, intent, exp.currentVersion + 1, actor);
    });
  }

  /**
   * POST actions {"action":"ship","variant","reason"} (SPEC §10 "Ship"): a new version, the running
   * intent with a ship marker, judged by the policy (input.ship) and approved like any other. Until
   * it is approved the running version keeps running; once approved the experiment is `shipped`.
   */
  async ship(key: string, variant: string, reason: string, actor: Actor): Promise<SubmitResult> {
    requireActionRole(actor, 'ship');
    return this.deps.lifecycle.transaction(async (u) => {
      const exp = await u.intents.getExperiment(key);
      if (!exp) throw new NotFoundError('intent_not_found', `No intent with key ${key}`);
      checkShip(actor, await this.deps.lifecycle.actionFacts(u, exp));
      const active = (await u.intents.getVersion(key, exp.activeVersion!))!;
      if (!active.intent.variants.some((v) => v.key === variant)) {
        throw new ValidationError(
          [{ path: 'variant', message: `must be one of the variants of version ${active.version}: ${active.intent.variants.map((v) => v.key).join(', ')}` }],
          `Experiment ${key} has no variant ${variant}`,
        );
      }
      return await this.storeVersion(u, active.intent, exp.currentVersion + 1, actor, { variant, reason });
    });
  }

  private async storeVersion(u: Unit, intent: Intent, version: number, actor: Actor, ship?: { variant: string; reason: string }): Promise<SubmitResult> {
    const { decision, revision, id, input } = await this.decide(u.intents, intent, actor, ship?.variant ?? null);
    let status = statusFor(decision);
    let slice: { start: number; end: number } | null = null;
    // A ship serves nobody through a slice: it reserves no layer room (docs/rollouts.md).
    if (status !== 'denied' && intent.layer && !ship) {
      slice = await this.deps.lifecycle.reserveSlice(u, intent);
      if (!slice) {
        // The policy and the allocator share one definition of room; reaching here means the policy
        // in force does not check layer capacity. Deny rather than overlap another experiment.
        decision.allow = false;
        decision.violations.push({
          code: 'layer_capacity',
          policy: 'allocator',
          message: `layer ${intent.layer} has no free range of ${exposureBuckets(intent.exposure)} buckets`,
        });
        status = 'denied';
      }
    }
    const at = this.now();
    const key = intent.key;
    if (status !== 'denied') {
      // Before anything is stored: a version that could never go live for its size is refused.
      await this.deps.lifecycle.assertRoom(u, intent, version, slice, { decision_id: id, policy_revision: revision, actor: actor.name, at }, ship?.variant ?? null);
    }
    await u.decisions.insert({ id, key, version, policyRevision: revision, input, result: decision, status, actor: actor.name, createdAt: at });
    await u.intents.insertVersion({ key, version, intent, status, decisionId: id, slice, submittedBy: actor.name, submittedAt: at, ship: ship?.variant ?? null });
    await u.intents.setCurrentVersion(key, version, intent.owner, at);
    const services = [...new Set(intent.services.map((s) => s.service))];
    await this.deps.audit.append(u, {
      type: 'submitted',
      actor: actor.name,
      experiment: key,
      version,
      data: { services, intent, ...(ship ? { ship: ship.variant, reason: ship.reason } : {}) },
    });
    await this.deps.audit.append(u, {
      type: 'decided',
      actor: actor.name,
      experiment: key,
      version,
      data: { decision_id: id, policy_revision: revision, status, allow: decision.allow, violations: decision.violations.map((v) => v.code), services },
    });
    if (status === 'approved') await this.deps.lifecycle.onApproved(u, key, version, actor);
    const exp = (await u.intents.getExperiment(key))!;
    return { intent: { key, version }, status, state: exp.state, decision: view(id, revision, decision) };
  }

  private async decide(live: IntentReader, intent: Intent, actor: Actor, ship: string | null = null) {
    const input = await buildPolicyInput(
      intent,
      { name: actor.name, role: actor.role, ...(actor.team ? { team: actor.team } : {}) },
      this.deps.clock.now(),
      live,
      ship,
    );
    const { decision, revision } = this.deps.policy.evaluate(input);
    return { decision, revision, id: `d_${ulid()}`, input };
  }

  async approve(key: string, actor: Actor, request: ApprovalRequest = {}) {
    requireActionRole(actor, 'approve');
    const comment = request.comment;
    return this.deps.lifecycle.transaction(async (u) => {
      const exp = await u.intents.getExperiment(key);
      if (!exp) throw new NotFoundError('intent_not_found', `No intent with key ${key}`);
      const v = (await u.intents.getVersion(key, exp.currentVersion))!;
      // First, before any other answer: an approver approves what they read, never a version
      // submitted after it (checked inside the transaction, so no PUT can slip in between).
      assertPinned(v, request);
      const owed = await this.outstanding(u, v);
      // The one rule (src/intents/intent-actions.ts) that GET /v1/intents/{key} lists as allowed_actions.
      checkApproval(actor, { key, state: exp.state, current: approvalFacts(v, await u.intents.listApprovals(key, v.version), owed) });
      const fills = approvalFills(actor, owed);
      const at = this.now();
      if (!await u.intents.insertApproval({ key, version: v.version, actor: actor.name, roles: fills, comment: comment ?? null, createdAt: at })) {
        throw new ConflictError('already_approved', `${actor.name} has already approved version ${v.version} of ${key}`);
      }
      const remaining = await this.outstanding(u, v);
      const complete = remaining.every((o) => o.missing === 0);
      await this.deps.audit.append(u, {
        type: 'approved',
        actor: actor.name,
        experiment: key,
        version: v.version,
        data: { roles: fills, comment: comment ?? null, complete, services: [...new Set(v.intent.services.map((s) => s.service))] },
      });
      if (complete) {
        await u.intents.setStatus(key, v.version, 'approved');
        await this.deps.lifecycle.onApproved(u, key, v.version, actor);
      }
      const after = (await u.intents.getExperiment(key))!;
      return {
        intent: { key, version: v.version },
        status: complete ? ('approved' as const) : ('pending_approval' as const),
        state: after.state,
        approvals: (await u.intents.listApprovals(key, v.version)).map(approvalView),
        outstanding: remaining.filter((o) => o.missing > 0),
      };
    });
  }

  /** The approvals a version still owes, by role (approvalsOwed: people, not tokens or rows). */
  async outstanding(r: { intents: IntentReader; decisions: DecisionReader }, v: VersionRecord): Promise<OutstandingApproval[]> {
    const decision = v.decisionId ? await r.decisions.get(v.decisionId) : undefined;
    const owed = (decision?.result as PolicyDecision | undefined)?.obligations.approvals ?? [];
    return approvalsOwed(owed, await r.intents.listApprovals(v.key, v.version), v.submittedBy);
  }

  /**
   * DELETE /v1/intents/{key}: archives an intent that never ran, that is a draft none of whose
   * versions was ever approved (a version once approved has been scheduled or live, and the audit
   * of what it did stays its story). The experiment and every version, decision and audit event
   * stay; it leaves the lists, a pending version is withdrawn (no approval counts any more, it no
   * longer holds its flags or layer slice), and the key stays reserved. The owner of its team or
   * an admin may; an operator's kill switch is for what runs, and a draft does not.
   */
  async archive(key: string, actor: Actor) {
    requireRole(actor, ['owner'], 'archive intents');
    await this.deps.lifecycle.transaction(async (u) => {
      const exp = await u.intents.getExperiment(key);
      if (!exp) throw new NotFoundError('intent_not_found', `No intent with key ${key}`);
      requireTeamAccess(actor, exp.owner, `archive intents of team ${exp.owner}`, false);
      const versions = await u.intents.listVersions(key);
      const ran = versions.some((v) => v.status === 'approved');
      if (exp.state !== 'draft' || exp.activeVersion !== null || ran) {
        const why = exp.state === 'archived' ? 'it is archived already' : exp.state !== 'draft' ? `it is ${exp.state}` : 'a version of it was approved';
        throw new ConflictError('invalid_transition', `Cannot archive ${key}: ${why}; only an intent that never ran can be archived`, { state: exp.state, action: 'archive' });
      }
      const current = versions.find((v) => v.version === exp.currentVersion)!;
      if (!await u.intents.archive(key, this.now())) throw new Error(`archiving ${key} changed no row`);
      await this.deps.audit.append(u, {
        type: 'archived',
        actor: actor.name,
        experiment: key,
        version: exp.currentVersion,
        data: {
          from_state: exp.state,
          to_state: 'archived',
          ...(current.status === 'pending_approval' ? { withdrawn_version: current.version } : {}),
        },
      });
    });
    return await this.get(key, actor);
  }

  /** The intent's detail with the entity tag of its current version (`ETag` of GET /v1/intents/{key}). */
  async read(key: string, actor?: Actor) {
    const detail = await this.get(key, actor);
    const current = (await this.deps.read.intents.getVersion(key, detail.version))!;
    return { detail, etag: versionTag(current) };
  }

  /**
   * The intent's detail (SPEC §4). With the caller, it carries `allowed_actions`: what that caller
   * may do to it now, by the rule the action routes apply (src/intents/intent-actions.ts).
   */
  async get(key: string, actor?: Actor) {
    const exp = await this.deps.read.intents.getExperiment(key);
    if (!exp) throw new NotFoundError('intent_not_found', `No intent with key ${key}`);
    const versions = await this.deps.read.intents.listVersions(key);
    const current = versions.find((v) => v.version === exp.currentVersion)!;
    const decision = current.decisionId ? await this.deps.read.decisions.get(current.decisionId) : undefined;
    const rollout = await this.deps.lifecycle.rolloutState(exp, current);
    const approvals = await this.deps.read.intents.listApprovals(key, current.version);
    const owed = await this.outstanding(this.deps.read, current);
    const allowed = actor
      ? allowedActions(actor, { ...(await this.deps.lifecycle.actionFacts(this.deps.read, exp)), current: approvalFacts(current, approvals, owed) })
      : undefined;
    return {
      key: exp.key,
      owner: exp.owner,
      version: exp.currentVersion,
      status: current.status,
      state: exp.state,
      active_version: exp.activeVersion,
      intent: current.intent,
      ...(current.ship ? { ship: current.ship } : {}),
      ...(rollout ? { rollout } : {}),
      decision: decision ? view(decision.id, decision.policyRevision, decision.result as PolicyDecision) : null,
      approvals: approvals.map(approvalView),
      outstanding_approvals: current.status === 'pending_approval' && exp.state !== 'archived' ? owed.filter((o) => o.missing > 0) : [],
      ...(allowed ? { allowed_actions: allowed } : {}),
      ...(actor ? { editable: mayEdit(actor, exp) } : {}),
      versions: versions.map((v) => ({
        version: v.version,
        status: v.status,
        decision_id: v.decisionId,
        submitted_by: v.submittedBy,
        submitted_at: v.submittedAt,
        ...(v.slice ? { slice: v.slice } : {}),
        ...(v.ship ? { ship: v.ship } : {}),
        ...(v.retiredAt ? { rolled_back_at: v.retiredAt } : {}),
      })),
      created_at: exp.createdAt,
      updated_at: exp.updatedAt,
    };
  }

  async list(filter: { owner?: string; state?: string; after?: string; limit: number }) {
    const rows = await this.deps.read.intents.listExperiments({ ...filter, limit: filter.limit + 1 });
    const page = rows.slice(0, filter.limit);
    const versions = await Promise.all(page.map((e) => this.deps.read.intents.getVersion(e.key, e.currentVersion)));
    return {
      items: page.map((e, i) => {
        const v = versions[i]!;
        return {
          key: e.key,
          owner: e.owner,
          version: e.currentVersion,
          active_version: e.activeVersion,
          status: v.status,
          state: e.state,
          description: v.intent.description ?? null,
          services: v.intent.services,
          exposure: v.intent.exposure,
          layer: v.intent.layer ?? null,
          updated_at: e.updatedAt,
        };
      }),
      next_cursor: rows.length > filter.limit ? page[page.length - 1]!.key : null,
    };
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }
}

/** Refuses (409 version_changed) an approval whose `version` or `If-Match` names anything but `v`. */
function assertPinned(v: VersionRecord, request: ApprovalRequest): void {
  const tag = versionTag(v);
  const byVersion = request.version !== undefined && request.version !== v.version;
  const byTag = request.ifMatch !== undefined && request.ifMatch !== '*' && !request.ifMatch.includes(tag);
  if (!byVersion && !byTag) return;
  const read = byVersion ? `Version ${request.version} of ${v.key}` : `The version of ${v.key} that If-Match names`;
  throw new ConflictError(
    'version_changed',
    `${read} is not the current version: version ${v.version} is (ETag ${tag}), submitted by ${v.submittedBy} at ${v.submittedAt}. ` +
      `Nothing was approved; read version ${v.version} and approve it if it is acceptable.`,
    { current_version: v.version, current_etag: tag, ...(request.version !== undefined ? { requested_version: request.version } : {}) },
  );
}

function view(id: string, revision: string, d: PolicyDecision): DecisionView {
  return { id, policy_revision: revision, allow: d.allow, violations: d.violations, obligations: d.obligations, limits: d.limits };
}

function approvalFacts(v: VersionRecord, approvals: ApprovalRecord[], owed: OutstandingApproval[]): ApprovalFacts['current'] {
  return { version: v.version, status: v.status, submittedBy: v.submittedBy, approvers: approvals.map((a) => a.actor), outstanding: owed };
}

function approvalView(a: ApprovalRecord) {
  return { actor: a.actor, roles: a.roles, comment: a.comment, at: a.createdAt };
}
