import type { Database } from '../db';
import { hashPassword } from './passwords';

export interface User {
  id: number;
  username: string;
  password_hash: string;
  token_version: string;
}

const table = 'starter_users';

export function findUserByName(db: Database, username: string): Promise<User | undefined> {
  return db<User>(table).where({ username }).first('id', 'username', 'password_hash', 'token_version');
}

/** What a token is checked against: the user it names, as the user is now. */
export function findTokenHolder(db: Database, username: string): Promise<Omit<User, 'password_hash'> | undefined> {
  return db<User>(table).where({ username }).first('id', 'username', 'token_version');
}

export async function countUsers(db: Database): Promise<number> {
  const row = await db(table).count<{ count: string }[]>('* as count').first();
  return Number(row?.count ?? 0);
}

/** Inserts the user; fails with SQLSTATE 23505 when the name is taken. */
export async function createUser(db: Database, username: string, password: string): Promise<void> {
  await db(table).insert({ username, password_hash: await hashPassword(password) });
}

/** Returns false when there is no such user. */
export async function setPassword(db: Database, username: string, password: string): Promise<boolean> {
  const updated = await db(table).where({ username }).update({ password_hash: await hashPassword(password) });
  return updated > 0;
}

export async function deleteUser(db: Database, username: string): Promise<boolean> {
  return (await db(table).where({ username }).delete()) > 0;
}
