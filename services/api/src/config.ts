import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors';
import { newPasswordProblem, newUsernameProblem } from './users/names';

const projectRoot = path.resolve(__dirname, '../../..');

const trustProxy = z
  .string()
  .trim()
  .transform((value): boolean | number | string[] => {
    if (/^(true|yes)$/i.test(value)) return true;
    if (/^(false|no)$/i.test(value)) return false;
    if (/^\d+$/.test(value)) return Number(value);
    return value.split(',').map((entry) => entry.trim()).filter(Boolean);
  });

const boolean = z
  .string()
  .trim()
  .regex(/^(true|false|yes|no|1|0)$/i, 'expected true or false')
  .transform((value) => /^(true|yes|1)$/i.test(value));

const postgresUrl = z
  .string()
  .trim()
  .refine((value) => /^postgres(ql)?:\/\//.test(value) && URL.canParse(value), 'expected a postgres:// URL');

const authModes = z
  .string()
  .trim()
  .transform((value) => value.split(',').map((mode) => mode.trim().toLowerCase()).filter(Boolean))
  .pipe(z.array(z.enum(['basic', 'token'], 'expected basic, token or basic,token')).min(1, 'expected basic, token or basic,token'))
  .transform((modes) => ({ basic: modes.includes('basic'), token: modes.includes('token') }));

const durationUnits: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

// `N/DURATION`: 5/15s, 600/1m, 1000/h; the window is whole seconds, as the stores count them.
export const rateLimit = z
  .string()
  .trim()
  .transform((value, context) => {
    const match = /^(\d+)\s*\/\s*(\d*)\s*(s|m|h|d)$/i.exec(value);
    const points = Number(match?.[1]);
    const duration = Number(match?.[2] || 1) * (durationUnits[match?.[3]?.toLowerCase() ?? ''] ?? 0);
    if (!match || points < 1 || duration < 1 || duration > 86_400 * 30) {
      context.addIssue({ code: 'custom', message: 'expected N/DURATION such as 5/15s, 600/1m or 1000/1h' });
      return z.NEVER;
    }
    return { points, durationSeconds: duration, text: `${points}/${duration}s` };
  });

export type RateLimitSetting = z.infer<typeof rateLimit>;

const rule = (problem: (value: string) => string | undefined) =>
  z.superRefine((value: string, context) => {
    const message = problem(value);
    if (message) context.addIssue({ code: 'custom', message });
  });

const schema = z.object({
  DATABASE_URL: postgresUrl.optional(),
  REDIS_URL: z
    .string()
    .trim()
    .refine((value) => /^rediss?:\/\//.test(value) && URL.canParse(value), 'expected a redis:// or rediss:// URL')
    .optional(),
  REDIS_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  RATE_LIMIT: rateLimit.optional(),
  AUTH_MODES: authModes.default({ basic: true, token: true }),
  TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 48)').optional(),
  TOKEN_TTL: z.coerce.number().int().min(1).max(30 * 86_400).default(3600),
  PORT: z.coerce.number().int().min(0).max(65535).default(5000),
  // GET /metrics on HOST at this port, a server of its own; 0 turns metrics off.
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  // Where clients reach this API when that is not HOST: a container's published port (API_BIND).
  PUBLISHED_ADDRESS: z.string().trim().min(1).optional(),
  HEADERS_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(600).default(10),
  REQUEST_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(3600).default(30),
  KEEP_ALIVE_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(600).default(5),
  MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  MAX_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(1).max(1_000_000).default(100),
  SOCKET_IDLE_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(3600).default(60),
  PUBLIC_URL: z
    .url({ protocol: /^https?$/, message: 'expected an http(s) URL such as https://api.example.com' })
    // As a URL parser writes it: a non-ASCII host in punycode, so it can go into Link headers.
    .transform((value) => new URL(value).href.replace(/\/+$/, ''))
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: trustProxy.default(false),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(10),
  DB_WAIT_SECONDS: z.coerce.number().min(0).max(3600).default(60),
  BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)?$/i, 'expected a size such as 100kb').default('100kb'),
  AUTH_CACHE_TTL: z.coerce.number().min(0).max(3600).default(60),
  AUTH_CACHE_MAX: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(0).max(100_000).default(10),
  AUTH_FAILURES_PER_NAME_PER_MINUTE: z.coerce.number().int().min(0).max(100_000).default(30),
  AUTH_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(Math.max(1, availableParallelism())),
  // The seed creates this user: the rules adduser applies (refused here, before anything starts).
  ADMIN_USERNAME: z.string().trim().check(rule(newUsernameProblem)).transform((name) => name.normalize('NFC')).default('admin'),
  ADMIN_PASSWORD: z.string().check(rule(newPasswordProblem)).default('admin'),
  SEED_SAMPLE_DATA: boolean.default(true),
  EMBEDDED_PG_DIR: z.string().min(1).default(path.join(projectRoot, '.data', 'postgres')),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(5433),
  SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().min(0).max(600).default(10),
}).superRefine(({ AUTH_FAILURES_PER_MINUTE: perAddress, AUTH_FAILURES_PER_NAME_PER_MINUTE: perName }, context) => {
  // A single address must meet its own limit first, or one mistyping client would block the name for all.
  if (perAddress > 0 && perName > 0 && perName < perAddress) {
    context.addIssue({ code: 'custom', path: ['AUTH_FAILURES_PER_NAME_PER_MINUTE'], message: `${perName} is lower than AUTH_FAILURES_PER_MINUTE (${perAddress}): it must be at least as large` });
  }
});

export type Config = Readonly<z.infer<typeof schema>>;

export { ConfigError };

// Secrets may come from files, as the official postgres image allows (Docker/Kubernetes secrets).
const fileVariables = ['DATABASE_URL', 'ADMIN_PASSWORD', 'TOKEN_SECRET', 'REDIS_URL'] as const;

function resolveFileVariables(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const resolved: Record<string, string | undefined> = { ...env };
  for (const name of fileVariables) {
    const file = env[`${name}_FILE`];
    if (!file) continue;
    if (env[name]) throw new ConfigError(`${name} and ${name}_FILE are both set: set only one`);
    try {
      resolved[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new ConfigError(`${name}_FILE: cannot read ${file}: ${(error as Error).message}`);
    }
  }
  // An empty variable means "not set", as in a .env file with `PUBLIC_URL=`.
  for (const [name, value] of Object.entries(resolved)) if (value === '') delete resolved[name];
  return resolved;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = schema.safeParse(resolveFileVariables(env));
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const config = result.data;
  // Node's request timeout must not end before the headers' one: the larger wins.
  if (config.REQUEST_TIMEOUT_SECONDS < config.HEADERS_TIMEOUT_SECONDS) {
    throw new ConfigError('invalid configuration: REQUEST_TIMEOUT_SECONDS: must be at least HEADERS_TIMEOUT_SECONDS');
  }
  if (config.METRICS_PORT !== 0 && config.METRICS_PORT === config.PORT) {
    throw new ConfigError(`invalid configuration: METRICS_PORT: ${config.METRICS_PORT} is PORT too: set another port, or 0 to turn metrics off`);
  }
  return Object.freeze(config);
}

function isLoopback(address: string): boolean {
  const host = address.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
}

/** Where `serve` can be reached from other machines: the setting that says so, or undefined on loopback. */
export function exposure(config: Config): { setting: string; rebind: string } | undefined {
  const published = config.PUBLISHED_ADDRESS !== undefined;
  const address = config.PUBLISHED_ADDRESS ?? config.HOST;
  if (isLoopback(address)) return undefined;
  return published
    ? { setting: `PUBLISHED_ADDRESS (the stack's API_BIND) is ${address}`, rebind: 'API_BIND' }
    : { setting: `HOST is ${address}`, rebind: 'HOST' };
}

/**
 * The demo password is for this machine only: `serve` refuses to be reachable from elsewhere with
 * it. PUBLISHED_ADDRESS is judged when set (in a container HOST must be 0.0.0.0), else HOST.
 */
export function refuseExposedDemoPassword(config: Config): void {
  const exposed = config.ADMIN_PASSWORD === 'admin' ? exposure(config) : undefined;
  if (!exposed) return;
  throw new ConfigError(
    `ADMIN_PASSWORD is the demo default "admin" while ${exposed.setting}, reachable from other machines: ` +
      `set ADMIN_PASSWORD to a password of your own, or ${exposed.rebind} to 127.0.0.1`,
  );
}
