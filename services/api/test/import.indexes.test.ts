import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createDatabase } from '../src/db/database';
import { importFile } from '../src/pxcodes/importer';
import { createTestDatabase, type TestDatabase } from './helpers';

// import --indexes-after: into an empty table the secondary indexes are built after the rows (src/pxcodes/import/indexesAside.ts).
const dir = mkdtempSync(path.join(tmpdir(), 'starter-import-indexes-'));
function csv(name: string, lines: string[]): string {
  const target = path.join(dir, name);
  writeFileSync(target, ['pxcode,procedure', ...lines].join('\n') + '\n');
  return target;
}

interface Index {
  name: string;
  oid: number;
  definition: string;
  valid: boolean;
}

async function indexes(): Promise<Index[]> {
  const result = await database.db.raw(`SELECT c.relname AS name, c.oid::int AS oid, pg_get_indexdef(i.indexrelid) AS definition, i.indisvalid AS valid
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'starter_pxcodes'::regclass ORDER BY c.relname`);
  return result.rows;
}
const withoutOids = (list: Index[]) => list.map(({ name, definition, valid }) => ({ name, definition, valid }));
const secondary = ['starter_pxcodes_procedure_id', 'starter_pxcodes_search_text'];
const oidsOf = (list: Index[], names: string[]) => list.filter((index) => names.includes(index.name)).map((index) => index.oid);

let database: TestDatabase;
beforeEach(async () => {
  database = await createTestDatabase();
});
afterEach(() => database.drop());

const indexesAfter = true;

describe('an import into an empty table, asked to build the indexes after (--indexes-after)', () => {
  test.each(['error', 'update'] as const)(
    'when it commits (on conflict %s), then the secondary indexes are made again after the rows, as they were, and the table is analysed',
    async (onConflict) => {
      const before = await indexes();
      expect(oidsOf(before, secondary)).toHaveLength(2);
      const result = await importFile(database.db, csv(`codes-${onConflict}.csv`, ['P1,SIMPLE PNEUMONIA & PLEURISY', 'H1,FRACTURES OF HIP & PELVIS']), { onConflict, indexesAfter });
      expect(result).toEqual({ rows: 2, written: 2, indexesAfter: true });
      const after = await indexes();
      expect(withoutOids(after)).toEqual(withoutOids(before));
      for (const oid of oidsOf(after, secondary)) expect(oidsOf(before, secondary)).not.toContain(oid);
      expect(oidsOf(after, ['starter_pxcodes_pkey', 'starter_pxcodes_pxcode_unique'])).toEqual(oidsOf(before, ['starter_pxcodes_pkey', 'starter_pxcodes_pxcode_unique']));
      const analysed = await database.db.raw("SELECT count(*)::int AS n FROM pg_stats WHERE tablename = 'starter_pxcodes' AND attname = 'pxcode'");
      expect(analysed.rows[0].n).toBe(1);
      const found = await database.db('starter_pxcodes').whereLike('search_text', '% pneumon%').pluck('pxcode');
      expect(found).toEqual(['P1']);
    },
  );

  test('when it fails (a code twice), then nothing is imported and the indexes are the ones from before', async () => {
    const before = await indexes();
    await expect(importFile(database.db, csv('twice.csv', ['A1,ONE', 'A1,AGAIN']), { indexesAfter })).rejects.toThrow("line 3: pxcode 'A1' already exists");
    expect(await indexes()).toEqual(before);
    expect(await database.db('starter_pxcodes').count({ n: '*' })).toEqual([{ n: '0' }]);
  });

  test('when another transaction holds the table, then the import does not wait for it: it keeps the indexes row by row', async () => {
    const before = await indexes();
    const reader = new Client({ connectionString: database.url });
    await reader.connect();
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT count(*) FROM starter_pxcodes');
      const result = await importFile(database.db, csv('held.csv', ['B1,ONE', 'B2,TWO']), { indexesAfter });
      expect(result).toEqual({ rows: 2, written: 2, indexesAfter: false });
      expect(await indexes()).toEqual(before);
    } finally {
      await reader.query('ROLLBACK');
      await reader.end();
    }
  });

  test("when it runs inside a caller's transaction with a lock_timeout of its own, then the indexes are set aside and the caller's setting is kept", async () => {
    const before = await indexes();
    await database.db.transaction(async (trx) => {
      await trx.raw("SET LOCAL lock_timeout = '7s'");
      expect(await importFile(trx, csv('caller.csv', ['E1,ONE', 'E2,TWO']), { indexesAfter })).toEqual({ rows: 2, written: 2, indexesAfter: true });
      expect((await trx.raw('SHOW lock_timeout')).rows[0].lock_timeout).toBe('7s');
    });
    const after = await indexes();
    expect(withoutOids(after)).toEqual(withoutOids(before));
    for (const oid of oidsOf(after, secondary)) expect(oidsOf(before, secondary)).not.toContain(oid);
  });

  test('when an index was given a comment by hand, then that one is kept row by row (its comment with it) and the others are made again', async () => {
    await database.db.raw("COMMENT ON INDEX starter_pxcodes_search_text IS 'the text search''s'");
    const before = await indexes();
    expect(await importFile(database.db, csv('commented.csv', ['F1,ONE', 'F2,TWO']), { indexesAfter })).toEqual({ rows: 2, written: 2, indexesAfter: true });
    const after = await indexes();
    expect(oidsOf(after, ['starter_pxcodes_search_text'])).toEqual(oidsOf(before, ['starter_pxcodes_search_text']));
    expect(oidsOf(after, ['starter_pxcodes_procedure_id'])).not.toEqual(oidsOf(before, ['starter_pxcodes_procedure_id']));
    const comment = await database.db.raw("SELECT obj_description('starter_pxcodes_search_text'::regclass, 'pg_class') AS text");
    expect(comment.rows[0].text).toBe("the text search's");
  });

  test('when the role may write the rows but does not own the indexes, then the import keeps them row by row', async () => {
    const role = `starter_importer_${process.pid}`;
    await database.db.raw(`CREATE ROLE ${role} LOGIN PASSWORD 'importer'`);
    await database.db.raw(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
    const url = new URL(database.url);
    [url.username, url.password] = [role, 'importer'];
    const asImporter = createDatabase(url.toString(), 1);
    try {
      const before = await indexes();
      expect(await importFile(asImporter, csv('granted.csv', ['D1,ONE', 'D2,TWO']), { indexesAfter })).toEqual({ rows: 2, written: 2, indexesAfter: false });
      expect(await indexes()).toEqual(before);
    } finally {
      await asImporter.destroy();
      await database.db.raw(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });
});

test('when the table has rows, then an import keeps the indexes row by row (they are not made again)', async () => {
  await importFile(database.db, csv('first.csv', ['C1,ONE']), { indexesAfter });
  const before = await indexes();
  expect(await importFile(database.db, csv('second.csv', ['C2,TWO', 'C3,THREE']), { indexesAfter })).toEqual({ rows: 2, written: 2, indexesAfter: false });
  expect(await indexes()).toEqual(before);
});

test('when not asked to, then an import into an empty table keeps the indexes row by row (the API\'s reads never wait)', async () => {
  const before = await indexes();
  expect(await importFile(database.db, csv('default.csv', ['G1,ONE', 'G2,TWO']))).toEqual({ rows: 2, written: 2, indexesAfter: false });
  expect(await indexes()).toEqual(before);
});
