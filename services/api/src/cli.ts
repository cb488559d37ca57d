import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError, exposure, loadConfig, refuseExposedDemoPassword, type Config } from './config';
import { migrate, recreateSchema, type Database } from './db/database';
import { describeZodError } from './errors';
import { createLogger, type Logger } from './logger';
import { ImportError, importFile, type ImportFormat, type OnConflict } from './pxcodes/importer';
import { demoPassword, seedSampleData } from './seed';
import { connectDatabase } from './db/connection';
import { createUser, deleteUser, setPassword } from './users/repository';
import { maxUsernameLength, newPasswordProblem, newUsernameProblem, tooLong } from './users/names';

const usage = `Usage: starter <command> [options]

Commands:
  serve                         run the API (migrates and seeds a new database first)
  migrate                       apply pending database migrations
  resetdb [--yes]               DELETE ALL DATA: recreate the tables, then create the admin user
  adduser NAME [--password-stdin]
  passwd NAME [--password-stdin]  change a user's password
  deluser NAME
  import FILE [--format sql|csv] [--on-conflict error|skip|update] [--indexes-after]
                                the seed's INSERT file or a CSV with header pxcode,procedure,
                                in one transaction: a bad line imports nothing;
                                --indexes-after: into an empty table, build the indexes after
                                the rows (faster; the API's reads of the codes wait meanwhile)
  seed                          load the sample data, only into an empty table

The database is DATABASE_URL, or the embedded PostgreSQL when it is not set.`;

/** The command line is wrong: exit 2, with the usage. */
export class UsageError extends Error {}
/** The command ran but could not do its job: exit 1, with the reason. */
export class CommandError extends Error {}

const usernameSchema = z
  .string()
  .min(1, 'must not be empty')
  // A name left unnormalised by the migration is still looked up by its own spelling: either form may fit.
  .refine((name) => !tooLong(name) || !tooLong(name.normalize('NFC')), `must be at most ${maxUsernameLength} characters`)
  .refine((name) => !name.includes(':'), 'must not contain ":" (HTTP Basic auth cannot carry it)');

export interface Io {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const processIo: Io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function ask(io: Io, question: string, hidden: boolean): Promise<string> {
  const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: true });
  if (hidden) {
    // readline echoes every key; print the question only.
    (rl as unknown as { _writeToOutput: (text: string) => void })._writeToOutput = (text) => {
      if (text.includes(question)) io.stderr.write(question);
    };
  }
  return new Promise((resolve) =>
    rl.question(question, (answer) => {
      rl.close();
      if (hidden) io.stderr.write('\n');
      resolve(answer);
    }),
  );
}

async function readNewPassword(io: Io, fromStdin: boolean): Promise<string> {
  let password: string;
  if (fromStdin) {
    password = (await readAll(io.stdin)).replace(/\r?\n$/, '');
  } else {
    if (!io.stdin.isTTY) throw new UsageError('no terminal to ask for the password: pipe it in with --password-stdin');
    password = await ask(io, 'Password: ', true);
    if ((await ask(io, 'Password (again): ', true)) !== password) throw new CommandError('the passwords do not match');
  }
  const problem = newPasswordProblem(password);
  if (problem) throw new CommandError(`the password ${problem}`);
  return password;
}

/** The demo password is for this machine only: not given to a user of a server others can reach. */
function refuseExposedDemo(config: Config, password: string): void {
  const exposed = password === demoPassword ? exposure(config) : undefined;
  if (!exposed) return;
  throw new CommandError(
    `the password "admin" is the demo one, refused while ${exposed.setting}, reachable from other machines: ` +
      `choose another, or set ${exposed.rebind} to 127.0.0.1`,
  );
}

function parseUsername(name: string | undefined): string {
  if (name === undefined) throw new UsageError('a user name is required');
  const result = usernameSchema.safeParse(name);
  if (!result.success) throw new UsageError(`user name ${describeZodError(result.error).replace(/^body: /, '')}`);
  return result.data;
}

/** A new user's name, in NFC (see newUsernameProblem). */
function parseNewUsername(name: string | undefined): string {
  if (name === undefined) throw new UsageError('a user name is required');
  const problem = newUsernameProblem(name);
  if (problem) throw new UsageError(`user name ${problem}`);
  return name.normalize('NFC');
}

async function confirmReset(io: Io, yes: boolean, where: string): Promise<void> {
  if (yes) return;
  if (!io.stdin.isTTY) throw new CommandError('resetdb deletes all data: pass --yes to confirm');
  const answer = await ask(io, `This deletes every pxcode and user in ${where}. Type "yes" to go on: `, false);
  if (answer.trim().toLowerCase() !== 'yes') throw new CommandError('not confirmed: nothing was changed');
}

function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

type Command = (context: { db: Database; url: string; config: Config; logger: Logger; io: Io; args: ParsedArgs }) => Promise<void>;

interface ParsedArgs {
  positionals: string[];
  yes: boolean;
  passwordStdin: boolean;
  format: ImportFormat | undefined;
  onConflict: OnConflict;
  indexesAfter: boolean;
}

const print = (io: Io, text: string) => io.stdout.write(`${text}\n`);

const commands: Record<string, Command> = {
  async migrate({ db, io }) {
    const applied = await migrate(db);
    print(io, applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'the database is up to date');
  },
  async resetdb({ db, url, config, io, args }) {
    refuseExposedDemoPassword(config);
    await confirmReset(io, args.yes, redactUrl(url));
    await recreateSchema(db);
    await createUser(db, config.ADMIN_USERNAME, config.ADMIN_PASSWORD);
    print(io, `reset the database: tables recreated (empty), user '${config.ADMIN_USERNAME}' created`);
  },
  async adduser({ db, config, io, args }) {
    const username = parseNewUsername(args.positionals[0]);
    await migrate(db);
    const password = await readNewPassword(io, args.passwordStdin);
    refuseExposedDemo(config, password);
    try {
      await createUser(db, username, password);
    } catch (error) {
      if ((error as { code?: string }).code === '23505') {
        throw new CommandError(`user '${username}' already exists: change the password with 'passwd ${username}'`);
      }
      throw error;
    }
    print(io, `created user '${username}'`);
  },
  async passwd({ db, config, io, args }) {
    const username = parseUsername(args.positionals[0]);
    const password = await readNewPassword(io, args.passwordStdin);
    refuseExposedDemo(config, password);
    if (!(await setPassword(db, username, password))) throw new CommandError(`there is no user '${username}'`);
    print(io, `changed the password of '${username}'`);
  },
  async deluser({ db, io, args }) {
    const username = parseUsername(args.positionals[0]);
    if (!(await deleteUser(db, username))) throw new CommandError(`there is no user '${username}'`);
    print(io, `removed user '${username}'`);
  },
  async import({ db, io, args }) {
    const file = args.positionals[0];
    if (!file) throw new UsageError('import needs a FILE');
    await access(file, constants.R_OK).catch(() => {
      throw new CommandError(`cannot read ${file}: check the path (in a container, mount the file into it)`);
    });
    await migrate(db);
    const started = Date.now();
    const result = await importFile(db, file, {
      format: args.format,
      onConflict: args.onConflict,
      indexesAfter: args.indexesAfter,
      onProgress: (rows) => io.stderr.write(`  ${rows.toLocaleString('en-US')} rows read\n`),
    });
    const seconds = (Date.now() - started) / 1000;
    const peakRss = Math.round(process.resourceUsage().maxRSS / 1024);
    print(io, `imported ${file}: ${result.rows} rows read, ${result.written} written in ${seconds.toFixed(1)}s (peak RSS ${peakRss} MB)`);
    if (args.indexesAfter && !result.indexesAfter) print(io, 'the indexes were kept row by row: the table had rows or was in use, or this role does not own them (--indexes-after needs an empty table of its own)');
  },
  async seed({ db, io }) {
    await migrate(db);
    const rows = await seedSampleData(db);
    print(io, rows ? `loaded ${rows} sample pxcodes` : 'starter_pxcodes is not empty: nothing loaded');
  },
};

function parse(argv: string[]): { command: string | undefined; args: ParsedArgs } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      yes: { type: 'boolean', short: 'y', default: false },
      'password-stdin': { type: 'boolean', default: false },
      format: { type: 'string' },
      'on-conflict': { type: 'string', default: 'error' },
      'indexes-after': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const format = values.format;
  if (format !== undefined && format !== 'sql' && format !== 'csv') throw new UsageError('--format must be sql or csv');
  const onConflict = values['on-conflict'];
  if (onConflict !== 'error' && onConflict !== 'skip' && onConflict !== 'update') {
    throw new UsageError('--on-conflict must be error, skip or update');
  }
  const [command, ...rest] = positionals;
  return {
    command: values.help ? 'help' : command,
    args: { positionals: rest, yes: values.yes, passwordStdin: values['password-stdin'], format, onConflict, indexesAfter: values['indexes-after'] },
  };
}

/** Runs one command; returns the exit code (0 done, 1 failed, 2 wrong usage). */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, io: Io = processIo): Promise<number> {
  let connection: Awaited<ReturnType<typeof connectDatabase>> | undefined;
  try {
    const { command, args } = parse(argv);
    if (!command || command === 'help') {
      io.stdout.write(`${usage}\n`);
      return command ? 0 : 2;
    }
    const config = loadConfig(env);
    if (command === 'serve') {
      // Loaded for serve alone: the web stack takes a third of a second that other commands need not wait.
      const { serve } = await import('./server.js');
      await serve(config);
      return 0;
    }
    const run = commands[command];
    if (!run) throw new UsageError(`unknown command '${command}'`);
    const logger = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, { fd: 2 });
    connection = await connectDatabase(config, logger, 'shared');
    await run({ db: connection.db, url: connection.url, config, logger, io, args });
    return 0;
  } catch (error) {
    const message = (error as Error).message;
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`starter: ${message}\n\n${usage}\n`);
      return 2;
    }
    if (error instanceof ConfigError || error instanceof ImportError || error instanceof CommandError) {
      io.stderr.write(`starter: ${message}\n`);
      return 1;
    }
    io.stderr.write(`starter: failed: ${message}\n`);
    return 1;
  } finally {
    await connection?.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    // serve keeps running; every other command ends here.
    if (code !== 0 || process.argv[2] !== 'serve') process.exit(code);
  });
}
