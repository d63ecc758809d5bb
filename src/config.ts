import path from 'node:path';
import { z } from 'zod';

/** The largest a service's serialized flags document may grow (1 MiB): docs/storage.md. */
export const DEFAULT_MAX_DOCUMENT_BYTES = 1024 * 1024;
/** Older flags-document versions kept per service besides the latest: docs/storage.md. */
export const DEFAULT_FLAG_HISTORY_VERSIONS = 100;

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  SWITCHYARD_DB: z.string().min(1).default('./data/switchyard.db'),
  SWITCHYARD_BOOTSTRAP_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  SWITCHYARD_POLICY_BUNDLE: z.string().min(1).default('./build/policy/bundle.tar.gz'),
  SWITCHYARD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SWITCHYARD_SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(50).max(3_600_000).default(1000),
  SWITCHYARD_MAX_DOCUMENT_BYTES: z.coerce.number().int().min(1024).max(256 * 1024 * 1024).default(DEFAULT_MAX_DOCUMENT_BYTES),
  SWITCHYARD_FLAG_HISTORY_VERSIONS: z.coerce.number().int().min(0).max(1_000_000).default(DEFAULT_FLAG_HISTORY_VERSIONS),
});

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dbPath: string;
  readonly bootstrapToken: string | undefined;
  readonly policyBundlePath: string;
  readonly logLevel: string;
  readonly schedulerIntervalMs: number;
  readonly maxDocumentBytes: number;
  readonly flagHistoryVersions: number;
}

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
    maxDocumentBytes: c.SWITCHYARD_MAX_DOCUMENT_BYTES,
    flagHistoryVersions: c.SWITCHYARD_FLAG_HISTORY_VERSIONS,
  });
}
