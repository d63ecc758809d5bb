import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { usageError } from './exit-codes.js';

/** Where the server listens by default (SPEC §9), so a local `make run` needs no configuration. */
export const DEFAULT_URL = 'http://127.0.0.1:8080';

/**
 * The config file. Strict, like the server's schemas: a misspelt `tokne:` must not be silently
 * ignored and turn into a puzzling 401.
 */
const ConfigFileSchema = z.strictObject({
  url: z.string().min(1).optional(),
  token: z.string().min(1).optional(),
});

export type ConfigFile = z.infer<typeof ConfigFileSchema>;

export type Source = 'flag' | 'env' | 'file' | 'default' | 'none';

export interface Connection {
  url: string;
  token: string | undefined;
  /** Where each value came from, for error hints. */
  from: { url: Source; token: Source; file: string };
}

export interface ConnectionInput {
  flags: { url?: string | undefined; token?: string | undefined; config?: string | undefined };
  env: NodeJS.ProcessEnv;
  /** For tests; the real home directory otherwise. */
  homeDir?: string;
}

/** `$XDG_CONFIG_HOME/switchyard/config.yaml`, else `~/.config/switchyard/config.yaml`. */
export function defaultConfigPath(env: NodeJS.ProcessEnv, homeDir = os.homedir()): string {
  const base = env['XDG_CONFIG_HOME'] && path.isAbsolute(env['XDG_CONFIG_HOME']) ? env['XDG_CONFIG_HOME'] : path.join(homeDir, '.config');
  return path.join(base, 'switchyard', 'config.yaml');
}

/** Reads a config file; a missing default file is no config, a missing explicit one is an error. */
export function readConfigFile(file: string, explicit: boolean): ConfigFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw usageError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = YAML.parse(text) ?? {};
  } catch (err) {
    throw usageError(`config file ${file} is not valid YAML: ${(err as Error).message}`);
  }
  const r = ConfigFileSchema.safeParse(parsed);
  if (!r.success) {
    const why = r.error.issues
      .flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys.map((k) => `unknown key ${JSON.stringify(k)}`) : [`${i.path.join('.') || '(file)'}: ${i.message}`]))
      .join('; ');
    throw usageError(`config file ${file} is not valid (keys: url, token): ${why}`);
  }
  return r.data;
}

/** Accepts an http(s) base URL, possibly with a path prefix; drops trailing slashes. */
export function normalizeUrl(raw: string, from: Source): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw usageError(`server URL ${JSON.stringify(raw)} (from ${from}) is not a URL; use e.g. ${DEFAULT_URL}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw usageError(`server URL ${raw} (from ${from}) must be http or https`);
  if (u.search || u.hash) throw usageError(`server URL ${raw} (from ${from}) must not have a query or fragment`);
  return u.toString().replace(/\/+$/, '');
}

/**
 * The server URL and token. Each is taken from the first place that has it: flags (`--url`,
 * `--token`), then the environment (SWITCHYARD_URL, SWITCHYARD_TOKEN), then the config file
 * (`--config`, or the default path when it exists). The URL falls back to the server's default.
 */
export function resolveConnection(input: ConnectionInput): Connection {
  const explicit = input.flags.config !== undefined;
  const file = explicit ? path.resolve(input.flags.config!) : defaultConfigPath(input.env, input.homeDir);
  const cfg = readConfigFile(file, explicit);
  const env = (name: string) => (input.env[name] ? input.env[name] : undefined);

  const pick = (flag: string | undefined, envName: string, fromFile: string | undefined): [string | undefined, Source] => {
    if (flag !== undefined && flag !== '') return [flag, 'flag'];
    const e = env(envName);
    if (e !== undefined) return [e, 'env'];
    if (fromFile !== undefined) return [fromFile, 'file'];
    return [undefined, 'none'];
  };
  const [rawUrl, urlFrom] = pick(input.flags.url, 'SWITCHYARD_URL', cfg.url);
  const [token, tokenFrom] = pick(input.flags.token, 'SWITCHYARD_TOKEN', cfg.token);
  const url = rawUrl === undefined ? DEFAULT_URL : normalizeUrl(rawUrl, urlFrom);
  return { url, token, from: { url: rawUrl === undefined ? 'default' : urlFrom, token: tokenFrom, file } };
}
