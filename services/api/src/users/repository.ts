import type { Database } from '../db/database';
import { hashPassword } from './passwords';

export interface User {
  id: number;
  username: string;
  password_hash: string;
  token_version: string;
}

const table = 'starter_users';

/**
 * User names are stored and looked up in NFC, so `café` typed as one code point or as `e` and a
 * combining accent is one user.
 */
export const normalizeUsername = (username: string): string => username.normalize('NFC');

export function findUserByName(db: Database, username: string): Promise<User | undefined> {
  return db<User>(table).where({ username: normalizeUsername(username) }).first('id', 'username', 'password_hash', 'token_version');
}

/** What a token is checked against: the user it names, as the user is now. */
export function findTokenHolder(db: Database, username: string): Promise<Omit<User, 'password_hash'> | undefined> {
  return db<User>(table).where({ username: normalizeUsername(username) }).first('id', 'username', 'token_version');
}

export async function countUsers(db: Database): Promise<number> {
  const row = await db(table).count<{ count: string }[]>('* as count').first();
  return Number(row?.count ?? 0);
}

/** Inserts the user; fails with SQLSTATE 23505 when the name is taken. */
export async function createUser(db: Database, username: string, password: string): Promise<void> {
  await db(table).insert({ username: normalizeUsername(username), password_hash: await hashPassword(password) });
}

/**
 * The user of that exact name, else of its NFC form: a name left unnormalised by the migration
 * (its NFC form was taken) can still be reached by its own spelling.
 */
async function onUser(username: string, change: (username: string) => Promise<number>): Promise<boolean> {
  if ((await change(username)) > 0) return true;
  const normalized = normalizeUsername(username);
  return normalized !== username && (await change(normalized)) > 0;
}

/** Returns false when there is no such user. */
export async function setPassword(db: Database, username: string, password: string): Promise<boolean> {
  const password_hash = await hashPassword(password);
  return onUser(username, (name) => db(table).where({ username: name }).update({ password_hash }));
}

export async function deleteUser(db: Database, username: string): Promise<boolean> {
  return onUser(username, (name) => db(table).where({ username: name }).delete());
}
