import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { findUserByName } from '../src/users/repository';
import { verifyPassword } from '../src/users/passwords';
import { createTestDatabase, type TestDatabase } from './helpers';

// The prompts need a real terminal: util-linux `script` gives the CLI one, as a person's shell would.
const cli = path.resolve(__dirname, '../dist/cli.js');
const script = ['/usr/bin/script', '/bin/script'].find((candidate) => existsSync(candidate));

let database: TestDatabase;
beforeAll(async () => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" first (npm test does)`);
  database = await createTestDatabase();
});
afterAll(() => database?.drop());

/** Runs the CLI on a terminal, typing each answer once its prompt has appeared. */
function onTerminal(args: string[], answers: [prompt: string, answer: string][]) {
  const command = [process.execPath, cli, ...args].map((part) => `'${part}'`).join(' ');
  const child = spawn(script!, ['-qfec', command, '/dev/null'], {
    env: { PATH: process.env.PATH, DATABASE_URL: database.url, LOG_LEVEL: 'silent', TERM: 'dumb' },
  });
  let output = '';
  let next = 0;
  let searchFrom = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (let at; next < answers.length && (at = output.indexOf(answers[next]![0], searchFrom)) >= 0; next++) {
      child.stdin.write(`${answers[next]![1]}\r`);
      searchFrom = at + answers[next]![0].length;
    }
  });
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, output })),
  );
}

(script ? describe : describe.skip)('the CLI at a terminal', () => {
  test('when adduser asks twice and both match, then the user is created and nothing is echoed', async () => {
    const result = await onTerminal(['adduser', 'typist'], [
      ['Password: ', 'typed:secret'],
      ['(again): ', 'typed:secret'],
    ]);
    expect(result.code).toBe(0);
    expect(result.output).toContain("created user 'typist'");
    expect(result.output).not.toContain('typed:secret');
    const user = await findUserByName(database.db, 'typist');
    expect(await verifyPassword('typed:secret', user!.password_hash)).toBe(true);
  });

  test('when the two passwords differ, then nothing is created', async () => {
    const result = await onTerminal(['adduser', 'mistyped'], [
      ['Password: ', 'one'],
      ['(again): ', 'two'],
    ]);
    expect(result.code).toBe(1);
    expect(result.output).toContain('the passwords do not match');
    expect(await findUserByName(database.db, 'mistyped')).toBeUndefined();
  });

  test('when resetdb is not confirmed, then nothing is changed', async () => {
    await database.db('starter_pxcodes').insert({ pxcode: 'KEEP', procedure: 'STAYS' });
    const result = await onTerminal(['resetdb'], [['Type "yes" to go on: ', 'no']]);
    expect(result.code).toBe(1);
    expect(result.output).toContain('not confirmed: nothing was changed');
    expect(await database.db('starter_pxcodes').where({ pxcode: 'KEEP' }).first('procedure')).toEqual({ procedure: 'STAYS' });
  });

  test('when resetdb is confirmed with "yes", then the tables are emptied', async () => {
    const result = await onTerminal(['resetdb'], [['Type "yes" to go on: ', 'yes']]);
    expect(result.code).toBe(0);
    expect(await database.db('starter_pxcodes').count('* as n').first()).toEqual({ n: '0' });
  });
});
