/**
 * An OpenFeature server provider over the Switchyard client: evaluation is local (no request per
 * flag), so `OpenFeature.getClient().getBooleanValue(...)` costs what `client.evaluate` costs
 * plus the OpenFeature SDK's own hooks.
 *
 *   await OpenFeature.setProviderAndWait(new SwitchyardProvider({ baseUrl, service, token }));
 */
import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderEvents,
  type EvaluationContext,
  type EvaluationDetails,
  type FlagMetadata,
  type FlagValue,
  type Hook,
  type HookContext,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
  type TrackingEventDetails,
} from '@openfeature/server-sdk';
import { createClient, type ClientErrorCode, type ClientOptions, type FlagsChange, type SwitchyardClient } from './client.js';

const ERROR_CODES: Record<ClientErrorCode, ErrorCode> = {
  FLAG_NOT_FOUND: ErrorCode.FLAG_NOT_FOUND,
  TARGETING_KEY_MISSING: ErrorCode.TARGETING_KEY_MISSING,
  INVALID_CONTEXT: ErrorCode.INVALID_CONTEXT,
  TYPE_MISMATCH: ErrorCode.TYPE_MISMATCH,
  PARSE_ERROR: ErrorCode.PARSE_ERROR,
  PROVIDER_NOT_READY: ErrorCode.PROVIDER_NOT_READY,
  GENERAL: ErrorCode.GENERAL,
};

/** Either the client's options, or a client the application already runs (it is closed with the provider). */
export type SwitchyardProviderOptions = ClientOptions | { client: SwitchyardClient };

export class SwitchyardProvider implements Provider {
  readonly metadata = { name: 'switchyard' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  readonly client: SwitchyardClient;
  /**
   * Provider hooks run on every evaluation through this provider. The one hook here sends an
   * exposure for each `SPLIT` evaluation (see `SwitchyardClient.exposure`); it queues and returns,
   * so it adds no wait to an evaluation. Empty when the client's telemetry is off.
   */
  readonly hooks: Hook[];
  private initializeFailed = false;
  private readonly unsubscribe: () => void;

  constructor(options: SwitchyardProviderOptions) {
    this.client = 'client' in options ? options.client : createClient(options);
    this.unsubscribe = this.client.subscribe((change) => this.onChange(change));
    const client = this.client;
    this.hooks =
      client.telemetryStats() === undefined
        ? []
        : [
            {
              after(hookContext: Readonly<HookContext>, details: EvaluationDetails<FlagValue>): void {
                client.exposure({ flag: hookContext.flagKey, variant: details.variant, reason: details.reason }, hookContext.context);
              },
            },
          ];
  }

  /**
   * OpenFeature's Tracking API (`client.track(name, context, details)`): a metric event named
   * `trackingEventName` with `details.value` (default 1) for the unit
   * `context[telemetry.unitAttribute] ?? targetingKey`. Queues and returns; never throws.
   */
  track(trackingEventName: string, context: EvaluationContext, trackingEventDetails: TrackingEventDetails): void {
    this.client.track(trackingEventName, context, trackingEventDetails?.value ?? 1);
  }

  /**
   * Waits for the first flags state. A rejection puts the provider in ERROR (evaluations return
   * the caller's defaults); it emits READY when the state arrives later.
   */
  async initialize(): Promise<void> {
    try {
      await this.client.ready();
    } catch (err) {
      this.initializeFailed = true;
      throw err;
    }
  }

  async onClose(): Promise<void> {
    this.unsubscribe();
    await this.client.close();
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context));
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context));
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): Promise<ResolutionDetails<number>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context));
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext): Promise<ResolutionDetails<T>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context));
  }

  private resolve<T>(flagKey: string, defaultValue: T, context: EvaluationContext): ResolutionDetails<T> {
    const r = this.client.evaluate(flagKey, context, defaultValue);
    const details: ResolutionDetails<T> = {
      value: r.value,
      variant: r.variant,
      // Switchyard's reasons (SPLIT, DEFAULT, DISABLED, ERROR) are OpenFeature's standard names.
      reason: r.reason,
      flagMetadata: this.metadataOf(flagKey),
    };
    if (r.errorCode !== undefined) {
      details.errorCode = ERROR_CODES[r.errorCode];
      details.errorMessage = r.errorMessage;
    }
    return details;
  }

  /** Which experiment and document version answered, for exposure logging in hooks. */
  private metadataOf(flagKey: string): FlagMetadata {
    const doc = this.client.document();
    if (doc === undefined) return {};
    const flag = Object.hasOwn(doc.flags, flagKey) ? doc.flags[flagKey] : undefined;
    const experiment = flag?.experiment;
    if (experiment === undefined) return { flagsVersion: doc.version };
    return { flagsVersion: doc.version, experimentKey: experiment.key, experimentVersion: experiment.version };
  }

  private onChange(change: FlagsChange): void {
    if (change.previousVersion === undefined) {
      // The first state: initialize() reports it, unless it already gave up waiting.
      if (this.initializeFailed) {
        this.initializeFailed = false;
        this.events.emit(ProviderEvents.Ready, { message: `flags version ${change.version}` });
      }
      return;
    }
    this.events.emit(ProviderEvents.ConfigurationChanged, {
      flagsChanged: [...change.changedFlags],
      metadata: { version: change.version, previousVersion: change.previousVersion, source: change.source },
    });
  }
}
