import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from './errors';

const minimumLength = 32;

/** What a secret file holds, and what to do about a bad one, for the messages. */
export interface SecretKind {
  name: string;
  remedy: string;
}
/** Whoever can write the file can forge tokens: only a private file of our own is trusted. */
export async function readSecretFile(file: string, what: SecretKind): Promise<string | undefined> {
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
export async function createSecretFile(file: string, what: SecretKind): Promise<string> {
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
