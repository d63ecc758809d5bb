import path from 'node:path';
import { z } from 'zod';

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  SWITCHYARD_DB: z.string().min(1).default('./data/switchyard.db'),
  SWITCHYARD_BOOTSTRAP_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  SWITCHYARD_POLICY_BUNDLE: z.string().min(1).default('./build/policy/bundle.tar.gz'),
  SWITCHYARD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SWITCHYARD_SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(50).max(3_600_000).default(1000),
  SWITCHYARD_POLICY_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  SWITCHYARD_POLICY_CHECK_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
});

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dbPath: string;
  readonly bootstrapToken: string | undefined;
  readonly policyBundlePath: string;
  readonly logLevel: string;
  readonly schedulerIntervalMs: number;
  /** Deadlines of policy wasm: one decision (blocks the caller at most this), and a publish's checks. */
  readonly policyTimeouts: PolicyTimeouts;
}

export interface PolicyTimeouts {
  readonly decisionMs: number;
  readonly checkMs: number;
}

export const DEFAULT_POLICY_TIMEOUTS: PolicyTimeouts = Object.freeze({ decisionMs: 1000, checkMs: 30_000 });

export class ConfigError extends Error {}

/** Parses the environment once at start; the frozen result is passed down and nothing else reads process.env. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const c = parsed.data;
  return Object.freeze({
    port: c.PORT,
    host: c.HOST,
    dbPath: path.resolve(c.SWITCHYARD_DB),
    bootstrapToken: c.SWITCHYARD_BOOTSTRAP_TOKEN,
    policyBundlePath: path.resolve(c.SWITCHYARD_POLICY_BUNDLE),
    logLevel: c.SWITCHYARD_LOG_LEVEL,
    schedulerIntervalMs: c.SWITCHYARD_SCHEDULER_INTERVAL_MS,
    policyTimeouts: Object.freeze({ decisionMs: c.SWITCHYARD_POLICY_TIMEOUT_MS, checkMs: c.SWITCHYARD_POLICY_CHECK_TIMEOUT_MS }),
  });
}
