import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, type Config } from '../config';

/**
 * The secret tokens are signed with: TOKEN_SECRET when set. With the embedded PostgreSQL (no
 * DATABASE_URL) one is generated on first start and kept beside the data, so tokens survive
 * restarts. With DATABASE_URL it must be given: every replica has to sign with the same one.
 */
export async function loadTokenSecret(config: Config): Promise<string> {
  if (config.TOKEN_SECRET) return config.TOKEN_SECRET;
  if (config.DATABASE_URL) {
    throw new ConfigError(
      'TOKEN_SECRET: required with DATABASE_URL while AUTH_MODES includes token (every replica must share it); ' +
        'generate one with `openssl rand -base64 48`, or set AUTH_MODES=basic',
    );
  }
  const file = path.join(path.dirname(config.EMBEDDED_PG_DIR), 'token-secret');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(path.dirname(file), { recursive: true });
  const secret = randomBytes(48).toString('base64');
  try {
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (error) {
    // Another process wrote it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return (await readFile(file, 'utf8')).trim();
    throw error;
  }
}
