import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, type Config } from '../config';

const minimumLength = 32;

/** What a secret file holds, and what to do about a bad one, for the messages. */
export interface SecretKind {
  name: string;
  remedy: string;
}
const tokenSecret: SecretKind = { name: 'the token secret', remedy: '; remove it to have a new one made' };

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
  return (await readSecretFile(file)) ?? (await createSecretFile(file));
}

/** Whoever can write the file can forge tokens: only a private file of our own is trusted. */
export async function readSecretFile(file: string, what = tokenSecret): Promise<string | undefined> {
  let info;
  try {
    info = await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if ((process.getuid && info.uid !== process.getuid()) || (info.mode & 0o077) !== 0) {
    throw new ConfigError(`${file}: ${what.name} must be a file of this user readable by no one else (chmod 600)${what.remedy}`);
  }
  const secret = (await readFile(file, 'utf8')).trim();
  if (secret.length < minimumLength) {
    throw new ConfigError(`${file}: ${what.name} is shorter than ${minimumLength} characters${what.remedy}`);
  }
  return secret;
}

/** A new random secret in a new file of mode 600; if another process made the file first, its secret. */
export async function createSecretFile(file: string, what = tokenSecret): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  const secret = randomBytes(48).toString('base64');
  // Written whole under a temporary name, then linked into place: a process starting at the same
  // moment sees no file or a complete one, and if it linked first, its secret is the one kept.
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(temporary, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(temporary, file);
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return (await readSecretFile(file, what)) as string;
  } finally {
    await rm(temporary, { force: true });
  }
}
