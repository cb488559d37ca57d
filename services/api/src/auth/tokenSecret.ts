import path from 'node:path';
import { ConfigError, type Config } from '../config';
import { createSecretFile, readSecretFile, type SecretKind } from '../secrets';

const tokenSecret: SecretKind = { name: 'the token secret', remedy: '; remove it to have a new one made' };

/** TOKEN_SECRET, or one kept beside the embedded PostgreSQL's data; with DATABASE_URL replicas must share a given one. */
export async function loadTokenSecret(config: Config): Promise<string> {
  if (config.TOKEN_SECRET) return config.TOKEN_SECRET;
  if (config.DATABASE_URL) {
    throw new ConfigError(
      'TOKEN_SECRET: required with DATABASE_URL while AUTH_MODES includes token (every replica must share it); ' +
        'generate one with `openssl rand -base64 48`, or set AUTH_MODES=basic',
    );
  }
  const file = path.join(path.dirname(config.EMBEDDED_PG_DIR), 'token-secret');
  return (await readSecretFile(file, tokenSecret)) ?? (await createSecretFile(file, tokenSecret));
}

