import { createDatabase, migrate, type Database } from '../src/db/database';
import { createTestDatabase, type TestDatabase } from './helpers';

// Replicas of the API start together on a new database (the swarm stack): one migrates, the
// others find the work done, and none fails.
describe('migrate, run by several processes at once on a new database', () => {
  let database: TestDatabase;
  const processes: Database[] = [];

  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
  });
  afterAll(async () => {
    await Promise.all(processes.map((db) => db.destroy()));
    await database.drop();
  });

  it('applies each migration once, in one of them, and fails none', async () => {
    for (let i = 0; i < 4; i++) processes.push(createDatabase(database.url, 3));
    const results = await Promise.allSettled(processes.map((db) => migrate(db)));

    const failures = results.filter((result) => result.status === 'rejected');
    expect(failures.map((failure) => String(failure.reason))).toEqual([]);
    const applied = results.map((result) => (result.status === 'fulfilled' ? result.value : []));
    expect(applied.filter((names) => names.length > 0)).toHaveLength(1);
    const rows = await database.db('knex_migrations').select('name');
    expect(rows.map((row: { name: string }) => row.name).sort()).toEqual([...applied.flat()].sort());
  });
});
