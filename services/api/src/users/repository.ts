import type { Database } from '../db/database';
import { hashPassword } from './passwords';

export interface User {
  id: number;
  username: string;
  password_hash: string;
  token_version: string;
}

const table = 'starter_users';

/** Names in NFC: `café` as one code point or with a combining accent is one user. */
export const normalizeUsername = (username: string): string => username.normalize('NFC');

export function findUserByName(db: Database, username: string): Promise<User | undefined> {
  return db<User>(table).where({ username: normalizeUsername(username) }).first('id', 'username', 'password_hash', 'token_version');
}

export function findTokenHolder(db: Database, username: string): Promise<Omit<User, 'password_hash'> | undefined> {
  return db<User>(table).where({ username: normalizeUsername(username) }).first('id', 'username', 'token_version');
}

export async function countUsers(db: Database): Promise<number> {
  const row = await db(table).count<{ count: string }[]>('* as count').first();
  return Number(row?.count ?? 0);
}

export async function createUser(db: Database, username: string, password: string): Promise<void> {
  await db(table).insert({ username: normalizeUsername(username), password_hash: await hashPassword(password) });
}

/** Exact name first: one the migration left unnormalised (NFC taken) is reached by its spelling. */
async function onUser(username: string, change: (username: string) => Promise<number>): Promise<boolean> {
  if ((await change(username)) > 0) return true;
  const normalized = normalizeUsername(username);
  return normalized !== username && (await change(normalized)) > 0;
}

export async function setPassword(db: Database, username: string, password: string): Promise<boolean> {
  const password_hash = await hashPassword(password);
  return onUser(username, (name) => db(table).where({ username: name }).update({ password_hash }));
}

export async function deleteUser(db: Database, username: string): Promise<boolean> {
  return onUser(username, (name) => db(table).where({ username: name }).delete());
}
