/**
 * The Switchyard SDK (`switchyard/sdk`): a client that keeps a service's flags in memory and
 * evaluates them locally, and an OpenFeature server provider on top of it. It evaluates with the
 * server's own module (`src/evaluation/`), so answers match the server, OFREP and flagd.
 */
export {
  createClient,
  SwitchyardSdkError,
  type ChangeListener,
  type ClientErrorCode,
  type ClientOptions,
  type ClientResolution,
  type ConnectionState,
  type ExposedResolution,
  type FlagsChange,
  type SdkErrorCode,
  type SdkLogger,
  type SwitchyardClient,
  type UpdateSource,
} from './client.js';
export { MAX_BATCH_SIZE, TELEMETRY_DEFAULTS, type TelemetryOptions, type TelemetryStats } from './telemetry.js';
export { SwitchyardProvider, type SwitchyardProviderOptions } from './provider.js';
export type {
  EvaluationContext,
  FlagState,
  FlagsDocument,
  Resolution,
  ResolutionReason,
} from '../evaluation/index.js';
