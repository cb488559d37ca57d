import path from 'node:path';
import type { Database } from './db/database';
import { importFile } from './pxcodes/importer';
import { isEmpty } from './pxcodes/repository';
import { countUsers, createUser, normalizeUsername, type User } from './users/repository';
import { verifyPassword } from './users/passwords';

/** The 100 MS-DRG codes and titles the seed loads, in the seed's INSERT format. */
export const sampleDataFile = path.resolve(__dirname, '../data/starter_pxcodes.sql');

// Any fixed number: it only has to be the same in every process that seeds.
const seedLockId = 0x5eed;

export interface SeedResult {
  adminCreated: boolean;
  sampleRows: number;
}

/** Loads the sample data, only into an empty table. Returns the number of rows loaded. */
export async function seedSampleData(db: Database): Promise<number> {
  return db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(?)', [seedLockId]);
    if (!(await isEmpty(trx))) return 0;
    return (await importFile(trx, sampleDataFile)).rows;
  });
}

/** A new database gets the admin user and the sample data; one with users is left as it is (deleted codes stay deleted). */
export async function seedNewDatabase(
  db: Database,
  admin: { username: string; password: string },
  withSampleData: boolean,
): Promise<SeedResult> {
  return db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(?)', [seedLockId]);
    if ((await countUsers(trx)) > 0) return { adminCreated: false, sampleRows: 0 };
    await createUser(trx, admin.username, admin.password);
    const sampleRows = withSampleData && (await isEmpty(trx)) ? (await importFile(trx, sampleDataFile)).rows : 0;
    return { adminCreated: true, sampleRows };
  });
}

export const demoPassword = 'admin';

/**
 * The users who may still have the demo password: the first user (the one a new database is seeded
 * with, whatever ADMIN_USERNAME was then), `admin` and ADMIN_USERNAME. At most three hashes, so a
 * start stays quick however many users there are; the CLI refuses the demo password for anyone else
 * while exposed.
 */
export async function usersWithDemoPassword(db: Database, adminUsername: string): Promise<string[]> {
  const users = await db<User>('starter_users')
    .select('username', 'password_hash')
    .whereIn('username', [normalizeUsername(adminUsername), demoPassword])
    .orWhere('id', db('starter_users').min('id'))
    .orderBy('username');
  const demo = await Promise.all(users.map((user) => verifyPassword(demoPassword, user.password_hash)));
  return users.filter((_user, index) => demo[index]).map((user) => user.username);
}
