// ttycrd's configuration: defaults per DESIGN 8, then a JSON config file, TTYCRD_* environment
// variables and command-line flags, each overriding the one before, validated by one schema.

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

import { z } from 'zod';

const absolutePath = z.string().refine(isAbsolute, 'must be an absolute path');
const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const ConfigSchema = z
  .object({
    socket: absolutePath,
    stateDir: absolutePath,
    logLevel: z.enum(['error', 'warn', 'info', 'debug']),
    logFormat: z.enum(['json', 'text']),
    /** Group given access to the socket (mode 0660); null: the socket is owner-only. */
    group: z.string().min(1).nullable(),
    restoreTtl: integer(1, 86400).describe('seconds until unclaimed fds close'),
    maxConnections: integer(1, 65536),
    maxLineBytes: integer(1024, 64 << 20),
    maxRestoresPerUid: integer(1, 65536).describe('pending restores one uid may hold'),
    maxPtysPerUid: integer(1, 1 << 20).describe('ptys the restores of one uid but root may hold'),
    maxCheckpointsPerUid: integer(1, 1 << 20).describe('checkpoints one uid but root may keep'),
    idleTimeout: integer(0, 86400).describe('seconds; 0 never closes idle connections'),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;

/** One setting and where its value came from, for the error message. */
type Sourced = Record<string, { value: unknown; from: string }>;

const keys = Object.keys(ConfigSchema.shape) as (keyof Config)[];

/** TTYCRD_STATE_DIR for stateDir. */
export function envName(key: string): string {
  return `TTYCRD_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** --state-dir for stateDir. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** The defaults: system paths for root, the XDG directories of the user otherwise. */
export function defaults(env: NodeJS.ProcessEnv, uid: number): Config {
  const runtimeDir = env.XDG_RUNTIME_DIR || `/run/user/${uid}`;
  const stateHome = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return {
    socket: uid === 0 ? '/run/ttycrd/ttycrd.sock' : join(runtimeDir, 'ttycrd', 'ttycrd.sock'),
    stateDir: uid === 0 ? '/var/lib/ttycrd' : join(stateHome, 'ttycrd'),
    logLevel: 'info',
    logFormat: 'text',
    group: null,
    restoreTtl: 300,
    maxConnections: 1024,
    maxLineBytes: 1 << 20,
    maxRestoresPerUid: 64,
    maxPtysPerUid: 256,
    maxCheckpointsPerUid: 256,
    idleTimeout: 300,
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ConfigSources {
  env: NodeJS.ProcessEnv;
  uid: number;
  /** Flags as commander gives them, camelCase keys; `config` is the config file path. */
  flags: Record<string, unknown>;
}

/** The configuration, or a ConfigError whose message is one line naming the bad setting. */
export function loadConfig({ env, uid, flags }: ConfigSources): Config {
  const merged: Sourced = {};
  for (const [key, value] of Object.entries(defaults(env, uid))) {
    merged[key] = { value, from: 'default' };
  }

  const file = (flags.config as string | undefined) ?? env.TTYCRD_CONFIG;
  if (file) {
    for (const [key, value] of Object.entries(readConfigFile(file))) {
      merged[key] = { value, from: file };
    }
  }
  for (const key of keys) {
    const value = env[envName(key)];
    if (value !== undefined) merged[key] = { value, from: envName(key) };
  }
  for (const key of keys) {
    if (flags[key] !== undefined) merged[key] = { value: flags[key], from: flagName(key) };
  }

  const plain = Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, v.value]));
  if (plain.group === '') plain.group = null;
  const parsed = ConfigSchema.safeParse(plain);
  if (parsed.success) return parsed.data;

  const issue = parsed.error.issues[0]!;
  const key = String(issue.path[0] ?? '');
  const from = merged[key]?.from ?? file ?? 'config';
  const shown = key ? `${key} (from ${from})` : from;
  throw new ConfigError(`invalid configuration: ${shown}: ${issue.message}`);
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code}`,
    );
  }

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}
