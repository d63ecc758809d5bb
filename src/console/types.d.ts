/**
 * The types of the web console's JSDoc (`// @ts-check`, checked by `tsc -p tsconfig.console.json`).
 *
 * Every answer shape and enum is the server's own, taken with type-only imports (as
 * src/cli/api-types.ts does): `Answer<typeof ROUTES.x, status>` is `z.output` of the response schema
 * the route declares beside its handler (src/http/route.ts, docs/adr/0011-route-declarations.md), so
 * a field the console reads that a declaration lacks fails `make typecheck`. Type imports are erased:
 * the browser loads only src/console/static/, never a server module. Declared here by hand: only
 * what is the console's own (element children, the pure modules' interfaces, view rows).
 */
import type { ROLES } from '../access/token-store.js';
import type { AuditEventType } from '../audit/audit-log.js';
import type { IntentAction as DomainIntentAction } from '../intents/intent-actions.js';
import type { ExperimentState as DomainExperimentState, VersionStatus as DomainVersionStatus } from '../intents/intent-store.js';

// ---- Enums: the domain's.

export type Role = (typeof ROLES)[number];
export type VersionStatus = DomainVersionStatus;
export type ExperimentState = DomainExperimentState;
/** `allowed_actions` of GET /v1/intents/{key} (src/intents/intent-actions.ts INTENT_ACTIONS). */
export type IntentAction = DomainIntentAction;
export type { AuditEventType };

// ---- Answers: the routes' declared response schemas (src/http/answers.ts, shared with the CLI).

export type * from '../http/answers.js';
import type { IntentSpec, Problem, Variant, Violation } from '../http/answers.js';

// ---- The console's own.

/**
 * What the console's ApiError holds: the server's problem document, or one the console writes
 * itself (the server unreachable, an error body that is not JSON, a page the console lacks).
 */
export type ConsoleProblem = Problem | { detail: string; code?: 'page_not_found' };

/** What the console's element builders take as children: nodes, text, nothing, or lists of these. */
export type Child = Node | string | number | null | undefined | false | Child[];

/** One field of an approver's comparison (static/diff.js): the live version's text, the proposed one's, and whether they differ. */
export interface DiffRow {
  field: string;
  label: string;
  before: string;
  after: string;
  changed: boolean;
}

/** static/diff.js, as a test imports it. */
export interface DiffModule {
  intentDiff(live: IntentSpec | null, proposed: IntentSpec): DiffRow[];
  valueIn(v: Variant, service: string): unknown;
}

/** static/author-model.js, as a test imports it. */
export interface AuthorModule {
  blankIntent(team: string): IntentSpec;
  schedulePlaceholder(now: Date): { start: string; end: string };
  violationField(v: Violation, draft: IntentSpec): string | null;
  nearestSlot(path: string | null, has: (path: string) => boolean): string | null;
  readValue(text: string): unknown;
  showValue(v: unknown): string;
  readList(text: string): unknown[];
  showList(values: unknown[] | undefined): string;
  toBody(draft: IntentSpec): IntentSpec;
}

