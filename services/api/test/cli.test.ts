import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { main, type Io } from '../src/cli';
import { migrate } from '../src/db/database';
import { migrationSource } from '../src/db/migrations';
import { importFile } from '../src/pxcodes/importer';
import { findUserByName } from '../src/users/repository';
import { verifyPassword } from '../src/users/passwords';
import { createTestDatabase, type TestDatabase } from './helpers';

const seedFile = path.resolve(__dirname, '../../../../shared/data/starter_pxcodes.sql');
const dir = mkdtempSync(path.join(tmpdir(), 'starter-cli-'));
function file(name: string, content: string): string {
  const target = path.join(dir, name);
  writeFileSync(target, content);
  return target;
}

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let database: TestDatabase;
beforeEach(async () => {
  database = await createTestDatabase({ migrated: false });
});
afterEach(() => database.drop());

async function run(argv: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const stdout = new Capture();
  const stderr = new Capture();
  const io: Io = { stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]), stdout, stderr };
  const env = { DATABASE_URL: database.url, LOG_LEVEL: 'silent', ...options.env };
  const code = await main(argv, env, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** Migrates, collecting what the migrations report through knex's logger (restored after). */
async function migrateCollectingWarnings(): Promise<unknown[]> {
  const logger = (database.db.client as { logger: { warn: (message: unknown) => void } }).logger;
  const warn = logger.warn;
  const warnings: unknown[] = [];
  logger.warn = (message) => void warnings.push(message);
  try {
    await migrate(database.db);
  } finally {
    logger.warn = warn;
  }
  return warnings;
}

const count = async () => Number((await database.db('starter_pxcodes').count('* as n').first())!.n);

describe('migrate', () => {
  test('when the database is new, then it applies the migrations once', async () => {
    expect(await run(['migrate'])).toEqual({
      code: 0,
      stdout: 'applied 10 migration(s): 20261125000000_initial, 20261125010000_pxcodes_state, 20261126000000_users_token_version, 20261126010000_pxcodes_notify, 20261126020000_pxcodes_code_collation, 20261202000000_users_username_nfc, 20261203000000_pxcodes_notify_dropped, 20261203010000_pxcodes_procedure_order, 20261203020000_pxcodes_search, 20261203030000_imports\n',
      stderr: '',
    });
    expect((await run(['migrate'])).stdout).toBe('the database is up to date\n');
  });

  test('when migrated, then codes compare byte by byte (collation C) and a lookup by code uses the unique index', async () => {
    expect((await run(['migrate'])).code).toBe(0);
    const { rows } = await database.db.raw(
      "select collation_name from information_schema.columns where table_name = 'starter_pxcodes' and column_name = 'pxcode'",
    );
    expect(rows).toEqual([{ collation_name: 'C' }]);
    const plan = await database.db.transaction(async (trx) => {
      await trx.raw('set local enable_seqscan = off');
      return (await trx.raw("explain select * from starter_pxcodes where pxcode = ?", ['039'])).rows.map((row: { 'QUERY PLAN': string }) => row['QUERY PLAN']).join('\n');
    });
    expect(plan).toMatch(/Index Scan using starter_pxcodes_pxcode_unique/);
  });
});

describe('resetdb', () => {
  test('when not confirmed and there is no terminal, then it refuses and changes nothing', async () => {
    await migrate(database.db);
    await importFile(database.db, path.resolve(__dirname, '../data/starter_pxcodes.sql'));
    const result = await run(['resetdb']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('resetdb deletes all data: pass --yes to confirm');
    expect(await count()).toBe(100);
  });

  test('when run with --yes, then the tables are recreated empty with the admin user', async () => {
    await migrate(database.db);
    await importFile(database.db, path.resolve(__dirname, '../data/starter_pxcodes.sql'));
    const result = await run(['resetdb', '--yes'], { env: { ADMIN_PASSWORD: 'reset-pass' } });
    expect(result).toMatchObject({ code: 0, stdout: "reset the database: tables recreated (empty), user 'admin' created\n" });
    expect(await count()).toBe(0);
    const admin = await findUserByName(database.db, 'admin');
    expect(await verifyPassword('reset-pass', admin!.password_hash)).toBe(true);
    expect(await database.db('starter_users').count('* as n').first()).toEqual({ n: '1' });
  });

  test.each([
    [{ HOST: '0.0.0.0' }, 'HOST is 0.0.0.0', 'or HOST to 127.0.0.1'],
    [{ HOST: '0.0.0.0', PUBLISHED_ADDRESS: '0.0.0.0' }, "PUBLISHED_ADDRESS (the stack's API_BIND) is 0.0.0.0", 'or API_BIND to 127.0.0.1'],
  ])('when the configuration is exposed (%j) with the demo ADMIN_PASSWORD, then resetdb refuses and changes nothing', async (env, setting, hint) => {
    await migrate(database.db);
    await importFile(database.db, path.resolve(__dirname, '../data/starter_pxcodes.sql'));
    const result = await run(['resetdb', '--yes'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`starter: ADMIN_PASSWORD is the demo default "admin" while ${setting}, reachable from other machines`);
    expect(result.stderr).toContain(hint);
    expect(await count()).toBe(100);
  });

  test('when the configuration is exposed with a password of its own, or on loopback with the demo one, then resetdb runs', async () => {
    expect((await run(['resetdb', '--yes'], { env: { HOST: '0.0.0.0', ADMIN_PASSWORD: 'not-the-demo-one' } })).code).toBe(0);
    expect((await run(['resetdb', '--yes'], { env: { HOST: '0.0.0.0', PUBLISHED_ADDRESS: '127.0.0.1' } })).code).toBe(0);
  });

  test('when the database was never migrated, then resetdb still creates everything', async () => {
    expect((await run(['resetdb', '--yes'])).code).toBe(0);
    expect(await count()).toBe(0);
  });
});

describe('users', () => {
  const exposed = { HOST: '0.0.0.0', ADMIN_PASSWORD: 'not-the-demo-one' };

  test.each([
    ['adduser', exposed, 'HOST is 0.0.0.0', 'or set HOST to 127.0.0.1'],
    ['passwd', exposed, 'HOST is 0.0.0.0', 'or set HOST to 127.0.0.1'],
    ['passwd', { ...exposed, PUBLISHED_ADDRESS: '192.0.2.10' }, "PUBLISHED_ADDRESS (the stack's API_BIND) is 192.0.2.10", 'or set API_BIND to 127.0.0.1'],
  ])('when %s is given the demo password while the configuration is exposed (%j), then it is refused and nothing changes', async (command, env, setting, hint) => {
    await migrate(database.db);
    expect((await run(['adduser', 'bob', '--password-stdin'], { stdin: 'bobs-own-pass\n' })).code).toBe(0);
    const name = command === 'adduser' ? 'carol' : 'bob';
    const result = await run([command, name, '--password-stdin'], { stdin: 'admin\n', env });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`starter: the password "admin" is the demo one, refused while ${setting}, reachable from other machines: choose another, ${hint}\n`);
    expect(await findUserByName(database.db, 'carol')).toBeUndefined();
    expect(await verifyPassword('bobs-own-pass', (await findUserByName(database.db, 'bob'))!.password_hash)).toBe(true);
  });

  test('when the configuration is on loopback (or published there), then the demo password may be given', async () => {
    expect((await run(['adduser', 'dave', '--password-stdin'], { stdin: 'admin\n' })).code).toBe(0);
    expect((await run(['passwd', 'dave', '--password-stdin'], { stdin: 'admin\n', env: { ...exposed, PUBLISHED_ADDRESS: '127.0.0.1' } })).code).toBe(0);
  });

  test('when adduser reads the password from stdin, then the user can be verified', async () => {
    const result = await run(['adduser', 'alice', '--password-stdin'], { stdin: 'wonder:land\n' });
    expect(result).toEqual({ code: 0, stdout: "created user 'alice'\n", stderr: '' });
    const alice = await findUserByName(database.db, 'alice');
    expect(await verifyPassword('wonder:land', alice!.password_hash)).toBe(true);
    expect(alice!.password_hash).not.toContain('wonder');
  });

  test('when the user exists, then adduser says to use passwd', async () => {
    await run(['adduser', 'bob', '--password-stdin'], { stdin: 'one' });
    const again = await run(['adduser', 'bob', '--password-stdin'], { stdin: 'two' });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("user 'bob' already exists: change the password with 'passwd bob'");
  });

  test('when no terminal and no --password-stdin, then adduser explains how to pass the password', async () => {
    const result = await run(['adduser', 'carol']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no terminal to ask for the password: pipe it in with --password-stdin');
  });

  test.each([
    [['adduser', 'a:b', '--password-stdin'], 'user name must not contain ":"'],
    [['adduser', '--password-stdin'], 'a user name is required'],
  ])('when %j, then exit 2 explains', async (argv, message) => {
    const result = await run(argv, { stdin: 'pw' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  test('when adduser is given a name in NFD (e and a combining accent), then it is stored in NFC, one user with the NFC spelling', async () => {
    const nfd = 'cafe\u0301';
    expect(await run(['adduser', nfd, '--password-stdin'], { stdin: 'pw' })).toEqual({ code: 0, stdout: "created user 'caf\u00e9'\n", stderr: '' });
    const rows = await database.db('starter_users').select('username');
    expect(rows).toEqual([{ username: 'caf\u00e9' }]);
    const again = await run(['adduser', 'caf\u00e9', '--password-stdin'], { stdin: 'pw' });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("user 'caf\u00e9' already exists");
    // passwd and deluser find it by either spelling.
    expect((await run(['passwd', nfd, '--password-stdin'], { stdin: 'second' })).code).toBe(0);
    expect(await verifyPassword('second', (await findUserByName(database.db, 'caf\u00e9'))!.password_hash)).toBe(true);
    expect((await run(['deluser', nfd])).code).toBe(0);
    expect(await database.db('starter_users').count('* as n').first()).toEqual({ n: '0' });
  });

  test.each([
    ['a trailing space', 'admin ', 'user name must not begin or end with white space'],
    ['a leading no-break space', '\u00a0admin', 'user name must not begin or end with white space'],
    ['a control character', 'ad\u0007min', 'user name must not contain control characters (U+0007)'],
    ['a C1 control', 'ad\u0085min', 'user name must not contain control characters (U+0085)'],
    ['a zero-width space', 'ad\u200bmin', 'user name must not contain invisible format characters such as zero-width or bidirectional marks (U+200B)'],
    ['a bidirectional override', 'admin\u202egpj', 'user name must not contain invisible format characters such as zero-width or bidirectional marks (U+202E)'],
    ['full-width letters', '\uff21\uff24\uff2d\uff29\uff2e', "user name must not contain compatibility characters such as full-width letters: write 'ADMIN'"],
  ])('when adduser is given a name with %s, then exit 2 names the problem and nothing is created', async (_what, name, message) => {
    const result = await run(['adduser', name, '--password-stdin'], { stdin: 'pw' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`starter: ${message}`);
    await migrate(database.db);
    expect(await database.db('starter_users').count('* as n').first()).toEqual({ n: '0' });
  });

  test('when the new password holds a control character, then it is refused (HTTP Basic auth could never carry it)', async () => {
    const result = await run(['adduser', 'frank', '--password-stdin'], { stdin: 'pass\tword' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the password must not contain control characters');
  });

  test('when users were stored with names not in NFC, then the migration rewrites them in NFC, and leaves a pair whose NFC forms meet, reporting it', async () => {
    await migrate(database.db);
    await database.db.migrate.down({ migrationSource, name: '20261202000000_users_username_nfc' });
    await database.db('starter_users').insert([
      { username: 'jose\u0301', password_hash: 'x' }, // alone: rewritten
      { username: 'rene\u0301', password_hash: 'x' }, // its NFC form exists too: left
      { username: 'ren\u00e9', password_hash: 'x' },
    ]);
    const warnings = await migrateCollectingWarnings();
    const names = (await database.db('starter_users').orderBy('id').select('username')).map((row: { username: string }) => row.username);
    expect(names).toEqual(['jos\u00e9', 'rene\u0301', 'ren\u00e9']);
    expect(warnings).toEqual([expect.stringMatching(/^user names "rene\u0301" \(id \d+\) and "ren\u00e9" are the same name in NFC: left as they are; remove one with deluser$/)]);
    // The one left is still reachable by its own spelling.
    expect((await run(['deluser', 'rene\u0301'])).code).toBe(0);
    expect(await database.db('starter_users').pluck('username')).toEqual(expect.arrayContaining(['jos\u00e9', 'ren\u00e9']));
  });

  test('when a stored name would be longer than the column in NFC, then the migration leaves it as it is and reports it (the API still starts)', async () => {
    await migrate(database.db);
    await database.db.migrate.down({ migrationSource, name: '20261202000000_users_username_nfc' });
    const long = '\u0958'.repeat(60); // 60 characters; 120 in NFC (each is two there)
    await database.db('starter_users').insert([{ username: long, password_hash: 'x' }, { username: 'jose\u0301', password_hash: 'x' }]);
    const warnings = await migrateCollectingWarnings();
    expect((await database.db('starter_users').orderBy('id').select('username')).map((row: { username: string }) => row.username)).toEqual([long, 'jos\u00e9']);
    expect(warnings).toEqual([`user name ${JSON.stringify(long)} (id 1) is longer than 100 characters in NFC: left as it is; remove it with deluser and add it again shorter`]);
    expect((await run(['deluser', long])).code).toBe(0);
  });

  test('when adduser is given a name longer than 100 characters in NFC, or longer only before NFC, then the length is judged in NFC', async () => {
    const result = await run(['adduser', '\u0958'.repeat(60), '--password-stdin'], { stdin: 'pw' });
    expect(result).toEqual({ code: 2, stdout: '', stderr: expect.stringContaining('starter: user name must be at most 100 characters (in NFC)') });
    const nfd = 'e\u0301'.repeat(60); // 120 characters as sent, 60 in NFC
    expect(await run(['adduser', nfd, '--password-stdin'], { stdin: 'pw' })).toEqual({ code: 0, stdout: `created user '${'\u00e9'.repeat(60)}'\n`, stderr: '' });
  });

  test('when the password is empty, then it is refused', async () => {
    const result = await run(['adduser', 'dave', '--password-stdin'], { stdin: '\n' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the password must not be empty');
  });

  test('when passwd and deluser are used, then the password changes and the user goes', async () => {
    await run(['adduser', 'erin', '--password-stdin'], { stdin: 'first' });
    expect((await run(['passwd', 'erin', '--password-stdin'], { stdin: 'second' })).stdout).toBe(
      "changed the password of 'erin'\n",
    );
    const erin = await findUserByName(database.db, 'erin');
    expect(await verifyPassword('second', erin!.password_hash)).toBe(true);
    expect((await run(['deluser', 'erin'])).stdout).toBe("removed user 'erin'\n");
    expect(await findUserByName(database.db, 'erin')).toBeUndefined();
    expect((await run(['deluser', 'erin'])).stderr).toContain("there is no user 'erin'");
    expect((await run(['passwd', 'erin', '--password-stdin'], { stdin: 'x' })).code).toBe(1);
  });
});

describe('import', () => {
  (existsSync(seedFile) ? test : test.skip)('when given the seed file unchanged, then its 100 codes are imported', async () => {
    const result = await run(['import', seedFile]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^imported .*starter_pxcodes\.sql: 100 rows read, 100 written in \d+\.\ds \(peak RSS \d+ MB\)\n$/);
    expect(await count()).toBe(100);
    const first = await database.db('starter_pxcodes').orderBy('id').first('pxcode', 'procedure');
    expect(first).toEqual({ pxcode: '039', procedure: 'EXTRACRANIAL PROCEDURES W/O CC/MCC' });
  });

  test('when a code exists already, then nothing is imported and the line is named', async () => {
    const sample = path.resolve(__dirname, '../data/starter_pxcodes.sql');
    await run(['import', sample]);
    const again = await run(['import', sample]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^starter: line \d+: pxcode '\d+' already exists \(use --on-conflict skip or update\)\n$/);
    expect(await count()).toBe(100);
  });

  test('when the table has a code the file names twice, then the first of those lines is named', async () => {
    await run(['import', file('existing.csv', 'pxcode,procedure\nZZA,BEFORE\n')]);
    const result = await run(['import', file('twice.csv', 'pxcode,procedure\nZZA,ONE\nZZB,TWO\nZZA,THREE\n')]);
    expect(result.stderr).toBe("starter: line 2: pxcode 'ZZA' already exists (use --on-conflict skip or update)\n");
  });

  test('when --on-conflict skip or update, then existing codes are kept or updated', async () => {
    const first = file('first.csv', 'pxcode,procedure\nA1,ONE\nA2,TWO\n');
    const second = file('second.csv', 'pxcode,procedure\nA2,TWO UPDATED\nA3,THREE\n');
    await run(['import', first]);
    expect((await run(['import', second, '--on-conflict', 'skip'])).stdout).toContain('2 rows read, 1 written');
    expect(await database.db('starter_pxcodes').where({ pxcode: 'A2' }).first('procedure')).toEqual({ procedure: 'TWO' });
    expect((await run(['import', second, '--on-conflict', 'update'])).stdout).toContain('2 rows read, 2 written');
    expect(await database.db('starter_pxcodes').where({ pxcode: 'A2' }).first('procedure')).toEqual({
      procedure: 'TWO UPDATED',
    });
    expect(await count()).toBe(3);
  });

  test('when a SQL line is broken, then nothing of the file is imported and the line is named', async () => {
    const broken = file(
      'broken.sql',
      [
        `INSERT INTO "starter_pxcodes" ("pxcode","procedure") VALUES ('B1','ONE');`,
        `INSERT INTO "starter_pxcodes" ("pxcode","procedure") VALUES ('B2','TWO');`,
        `INSERT INTO "starter_pxcodes" ("pxcode","procedure") VALUES ('B3', oops);`,
      ].join('\n'),
    );
    const result = await run(['import', broken]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`starter: line 3: expected INSERT INTO "starter_pxcodes" ("pxcode","procedure") VALUES`);
    expect(await count()).toBe(0);
  });

  test('when the SQL has quotes, comments, blank lines and the other column order, then they are read', async () => {
    const sql = file(
      'variants.sql',
      [
        '-- exported codes',
        'BEGIN;',
        `INSERT INTO "starter_pxcodes" ("pxcode","procedure") VALUES ('Q1','CHILD''S PROCEDURE');`,
        '',
        `insert into starter_pxcodes (procedure, pxcode) values ('REVERSED', 'Q2')`,
        `INSERT INTO public.starter_pxcodes ("pxcode", "procedure") VALUES ('Q3', 'SCHEMA, QUALIFIED');`,
        'COMMIT;',
      ].join('\r\n'),
    );
    expect((await run(['import', sql])).code).toBe(0);
    expect(await database.db('starter_pxcodes').orderBy('id').select('pxcode', 'procedure')).toEqual([
      { pxcode: 'Q1', procedure: "CHILD'S PROCEDURE" },
      { pxcode: 'Q2', procedure: 'REVERSED' },
      { pxcode: 'Q3', procedure: 'SCHEMA, QUALIFIED' },
    ]);
  });

  test('when a value is invalid, then the line and the field are named', async () => {
    const sql = file('invalid.sql', `INSERT INTO "starter_pxcodes" ("pxcode","procedure") VALUES ('WAY-TOO-LONG-CODE','X');\n`);
    const result = await run(['import', sql]);
    expect(result.stderr).toBe(
      'starter: line 1: pxcode: must be 1 to 10 letters, digits, dots, dashes or underscores\n',
    );
  });

  test('when a CSV has a BOM, quoted commas and any header order, then it is imported', async () => {
    const csv = file('codes.csv', '\uFEFFprocedure,pxcode\n"HEART, LUNG",C1\n"SAID ""HI""",C2\n\n');
    expect((await run(['import', csv])).stdout).toContain('2 rows read, 2 written');
    expect(await database.db('starter_pxcodes').orderBy('id').select('pxcode', 'procedure')).toEqual([
      { pxcode: 'C1', procedure: 'HEART, LUNG' },
      { pxcode: 'C2', procedure: 'SAID "HI"' },
    ]);
  });

  test.each([
    ['code,title\nA,B\n', 'starter: line 1: the header must be "pxcode,procedure", not "code,title"\n'],
    ['\n\n', 'starter: line 1: the file is empty: expected the header "pxcode,procedure"\n'],
    ['pxcode,procedure\nA1,ONE\nA2\n', /^starter: line 3: /],
    ['pxcode,procedure\nA1,ONE\nA/2,TWO\n', 'starter: line 3: pxcode: must be 1 to 10 letters, digits, dots, dashes or underscores\n'],
    ['pxcode,procedure\nA1,ONE\nA2,\n', 'starter: line 3: procedure: must not be empty\n'],
    ['pxcode,procedure\nA1,"TWO\nLINES"\n\nA/2,X\n', 'starter: line 5: pxcode: must be 1 to 10 letters, digits, dots, dashes or underscores\n'],
    ['pxcode,procedure\nE1,"MULTI\nLINE"\nE1,AGAIN\n', "starter: line 4: pxcode 'E1' already exists (use --on-conflict skip or update)\n"],
    ['pxcode,procedure\nD1,ONE\nD2,TWO\nD1,AGAIN\n', "starter: line 4: pxcode 'D1' already exists (use --on-conflict skip or update)\n"],
  ])('when the CSV is %j, then it fails naming the line and imports nothing', async (content, message) => {
    const result = await run(['import', file('bad.csv', content)]);
    expect(result.code).toBe(1);
    if (typeof message === 'string') expect(result.stderr).toBe(message);
    else expect(result.stderr).toMatch(message);
    expect(await count()).toBe(0);
  });

  const insert = (pxcode: string, procedure: string) => `INSERT INTO "starter_pxcodes" ("pxcode","procedure") VALUES ('${pxcode}','${procedure}');`;
  const notUtf8 = [Buffer.from([0xe9]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0xbd])];
  test.each(notUtf8.map((bytes) => [bytes.toString('hex'), bytes]))('when a line holds bytes %s that are not UTF-8, then its line is named and nothing is imported', async (_hex, bytes) => {
    const csv = path.join(dir, 'latin1.csv');
    writeFileSync(csv, Buffer.concat([Buffer.from('pxcode,procedure\nL1,ONE\nL2,CAF'), bytes, Buffer.from('\nL3,THREE\n')]));
    const sql = path.join(dir, 'latin1.sql');
    writeFileSync(sql, Buffer.concat([Buffer.from(`${insert('L1', 'ONE')}\n${insert('L2', 'TWO')}\r\n${insert('L3', 'CAF')}`.slice(0, -3)), bytes, Buffer.from(`');\n`)]));
    for (const [target, line] of [[csv, 3], [sql, 3]] as const) {
      const result = await run(['import', target]);
      expect(result.stderr).toBe(`starter: line ${line}: is not valid UTF-8 (save the file as UTF-8)\n`);
      expect(result.code).toBe(1);
    }
    expect(await count()).toBe(0);
  });

  // "The first bad line or the first duplicate, whichever comes first": bytes that are not UTF-8 in
  // the same 64 KB chunk must not hide either.
  test.each([
    ['CSV', 'early.csv', 'pxcode,procedure\nG1,GOOD\nG/2,BAD\nG3,CAF', 'starter: line 3: pxcode: must be 1 to 10 letters, digits, dots, dashes or underscores\n'],
    ['SQL', 'early.sql', `${insert('G1', 'GOOD')}\n${insert('G/2', 'BAD')}\n${insert('G3', 'CAF')}`.slice(0, -3), 'starter: line 2: pxcode: must be 1 to 10 letters, digits, dots, dashes or underscores\n'],
    ['CSV', 'dup-early.csv', 'pxcode,procedure\nA1,ONE\nA1,AGAIN\nA3,CAF', "starter: line 3: pxcode 'A1' already exists (use --on-conflict skip or update)\n"],
    ['SQL', 'dup-early.sql', `${insert('A1', 'ONE')}\n${insert('A1', 'AGAIN')}\n${insert('A3', 'CAF')}`.slice(0, -3), "starter: line 2: pxcode 'A1' already exists (use --on-conflict skip or update)\n"],
    ['CSV', 'quoted.csv', 'pxcode,procedure\nA1,ONE\nA1,TWO\nA3,"THREE\nLINES, CAF', "starter: line 3: pxcode 'A1' already exists (use --on-conflict skip or update)\n"],
  ])('when a %s line that is not UTF-8 follows a bad line or a duplicate (%s), then the earlier one is named', async (_format, name, start, message) => {
    const target = path.join(dir, name);
    writeFileSync(target, Buffer.concat([Buffer.from(start), Buffer.from([0xe9]), Buffer.from(name.endsWith('.sql') ? "');\n" : '\n')]));
    const result = await run(['import', target]);
    expect(result.stderr).toBe(message);
    expect(await count()).toBe(0);
  });

  test('when the bad byte is in a later line, then that line is still named (CSV in a quoted field too)', async () => {
    const csv = path.join(dir, 'late.csv');
    writeFileSync(csv, Buffer.concat([Buffer.from('pxcode,procedure\nA1,ONE\nA2,"TWO\nCAF'), Buffer.from([0xe9]), Buffer.from('"\n')]));
    expect((await run(['import', csv])).stderr).toBe('starter: line 4: is not valid UTF-8 (save the file as UTF-8)\n');
    expect(await count()).toBe(0);
  });

  const controls = 'procedure: must not contain control characters other than tab, line feed and carriage return';
  const bidi = 'procedure: must not contain bidirectional overrides or isolates (U+202A to U+202E, U+2066 to U+2069)';
  test.each([
    ['a vertical tab', 'A\u000bB', controls],
    ['a vertical tab and a form feed at its edges', '\u000bEDGE\u000c', controls],
    ['an escape', '\u001b[31mRED', controls],
    ['a C1 control', 'A\u0085B', controls],
    ['a right-to-left override', 'TXE \u202eLAICOS', bidi],
    ['an isolate', 'A \u2068B\u2069', bidi],
  ])('when a value holds %s, then the line and the field are named (CSV and SQL) and nothing is imported', async (_what, procedure, message) => {
    const csv = file('controls.csv', `pxcode,procedure\nK1,ONE\nK2,"${procedure}"\n`);
    const sql = file('controls.sql', `${insert('K1', 'ONE')}\n${insert('K2', procedure)}\n`);
    expect((await run(['import', csv])).stderr).toBe(`starter: line 3: ${message}\n`);
    expect((await run(['import', sql])).stderr).toBe(`starter: line 2: ${message}\n`);
    expect(await count()).toBe(0);
  });

  test('when a SQL value holds a lone carriage return, then the line is not split there and the text is kept as it was', async () => {
    const sql = file('cr.sql', `${insert('R1', 'CARRIAGE\rRETURN')}\n${insert('R2', 'TAB\tAND CRLF')}\r\n${insert('R3', 'LAST')}`);
    expect((await run(['import', sql])).code).toBe(0);
    expect(await database.db('starter_pxcodes').orderBy('id').select('pxcode', 'procedure')).toEqual([
      { pxcode: 'R1', procedure: 'CARRIAGE\rRETURN' },
      { pxcode: 'R2', procedure: 'TAB\tAND CRLF' },
      { pxcode: 'R3', procedure: 'LAST' },
    ]);
    const broken = file('cr-broken.sql', `${insert('R4', 'A\rB')}\n${insert('R/5', 'X')}\n`);
    expect((await run(['import', broken])).stderr).toBe('starter: line 2: pxcode: must be 1 to 10 letters, digits, dots, dashes or underscores\n');
  });

  test('when a line is longer than 1 MB (a file of CR-only line ends), then it is refused, naming its line, and nothing is imported', async () => {
    const crOnly = file('cr-only.sql', `${insert('M1', 'ONE')}\r`.repeat(40_000)); // about 3 MB
    const started = Date.now();
    expect((await run(['import', crOnly])).stderr).toBe('starter: line 1: is longer than 1048576 bytes (lines end at LF or CRLF)\n');
    expect(Date.now() - started).toBeLessThan(5000);
    const later = file('long.csv', `pxcode,procedure\nM1,ONE\nM2,"${'X'.repeat(1024 * 1024)}"\n`);
    expect((await run(['import', later])).stderr).toBe('starter: line 3: is longer than 1048576 bytes (lines end at LF or CRLF)\n');
    expect(await count()).toBe(0);
  });

  test.each([
    ['CSV', 'dup.csv', 'pxcode,procedure\nD1,ONE\nD1,AGAIN\nD/2,BAD\n', 3],
    ['SQL', 'dup.sql', `${insert('D1', 'ONE')}\n${insert('D1', 'AGAIN')}\n${insert('D/2', 'BAD')}\n`, 2],
  ])('when a bad %s line follows a duplicate in the same chunk, then the duplicate, first in the file, is named', async (_format, name, content, line) => {
    const result = await run(['import', file(name, content)]);
    expect(result.stderr).toBe(`starter: line ${line}: pxcode 'D1' already exists (use --on-conflict skip or update)\n`);
    expect(await count()).toBe(0);
  });

  test('when --indexes-after is given, then an empty table gets them after the rows, and a table with rows is told they were kept row by row', async () => {
    const first = await run(['import', file('after1.csv', 'pxcode,procedure\nK1,ONE\n'), '--indexes-after']);
    expect(first.stdout).toMatch(/^imported .*: 1 rows read, 1 written in [\d.]+s \(peak RSS \d+ MB\)\n$/);
    const second = await run(['import', file('after2.csv', 'pxcode,procedure\nK2,TWO\n'), '--indexes-after']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('the indexes were kept row by row: the table had rows or was in use, or this role does not own them (--indexes-after needs an empty table of its own)\n');
    expect(await count()).toBe(2);
  });

  test('when the file does not exist, then it says to check the path', async () => {
    const result = await run(['import', '/nonexistent/codes.sql']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot read /nonexistent/codes.sql: check the path');
  });

  test('when the file is large, then progress is reported as it goes', async () => {
    await migrate(database.db);
    const rows = Array.from({ length: 2500 }, (_, i) => `P${i},PROCEDURE ${i}`);
    const csv = file('large.csv', `pxcode,procedure\n${rows.join('\n')}\n`);
    const progress: number[] = [];
    const result = await importFile(database.db, csv, { progressEvery: 1000, onProgress: (n) => progress.push(n) });
    expect(result).toEqual({ rows: 2500, written: 2500, indexesAfter: false });
    expect(progress).toEqual([1000, 2000]);
  });
});

describe('seed', () => {
  test('when the table is empty, then the 100 sample codes are loaded, and never twice', async () => {
    expect((await run(['seed'])).stdout).toBe('loaded 100 sample pxcodes\n');
    expect((await run(['seed'])).stdout).toBe('starter_pxcodes is not empty: nothing loaded\n');
    expect(await count()).toBe(100);
  });
});

describe('usage and configuration', () => {
  test('when the command is unknown, then exit 2 with the usage', async () => {
    const result = await run(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("starter: unknown command 'frobnicate'");
    expect(result.stderr).toContain('Usage: starter <command>');
  });

  test('when asked for help, then the usage goes to stdout', async () => {
    const result = await run(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('resetdb [--yes]');
  });

  test('when an option is wrong, then exit 2 names it', async () => {
    expect((await run(['import', 'x.sql', '--on-conflict', 'maybe'])).stderr).toContain(
      '--on-conflict must be error, skip or update',
    );
    expect((await run(['migrate', '--bogus'])).code).toBe(2);
  });

  test('when the configuration is invalid, then exit 1 names the variable', async () => {
    const result = await run(['migrate'], { env: { DATABASE_URL: 'mysql://nope' } });
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'starter: invalid configuration: DATABASE_URL: expected a postgres:// URL\n',
    });
  });
});
