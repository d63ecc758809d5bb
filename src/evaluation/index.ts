/**
 * Switchyard's flag evaluation (SPEC §6), shared by the server, the OFREP endpoint, the flagd
 * exporter and the SDK. Imports nothing server-side, so the SDK can ship it.
 */
export { murmur3x86_32, murmur3String } from './murmur3.js';
export { bucket, MAX_BUCKETS } from './bucket.js';
export { matchesAudience, audienceProblems } from './audience.js';
export {
  evaluateFlag,
  evaluateDocument,
  compileFlag,
  compileDocument,
  flagNotFound,
  unitId,
  type CompiledFlag,
  type CompiledDocument,
} from './evaluate.js';
export type {
  ConditionValue,
  AudienceOp,
  AudienceCondition,
  ExposureAllocation,
  VariantAllocation,
  Allocation,
  Provenance,
  FlagState,
  FlagsDocument,
  EvaluationContext,
  ResolutionReason,
  EvaluationErrorCode,
  SuccessfulResolution,
  ErrorResolution,
  Resolution,
} from './types.js';
