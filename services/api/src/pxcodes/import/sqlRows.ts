import { ImportError, parseRow, type SourceRow } from './sourceRow';
import { textLines } from './textLines';

const identifier = (name: string) => `(?:"?(?:public"?\\."?)?)?"?${name}"?`;
const literal = "'((?:[^']|'')*)'";
// The seed's format, one statement a line: INSERT INTO "starter_pxcodes" ("pxcode","procedure") VALUES ('039','...');
const insertPattern = new RegExp(
  `^INSERT\\s+INTO\\s+${identifier('starter_pxcodes')}\\s*\\(\\s*"?(pxcode|procedure)"?\\s*,\\s*"?(pxcode|procedure)"?\\s*\\)` +
    `\\s*VALUES\\s*\\(\\s*${literal}\\s*,\\s*${literal}\\s*\\)\\s*;?$`,
  'i',
);
const ignorablePattern = /^(--.*|BEGIN\s*;|COMMIT\s*;|START\s+TRANSACTION\s*;)?$/i;

/** The rows of a file of INSERT statements, one a line, as the seed's pxcodes.sql has them. */
export async function* sqlRows(file: string): AsyncGenerator<SourceRow> {
  let line = 0;
  for await (const text of textLines(file)) {
    line++;
    const statement = (line === 1 ? text.replace(/^\uFEFF/, '') : text).trim();
    if (ignorablePattern.test(statement)) continue;
    const parsed = parseRow(valuesOf(line, statement));
    if ('problem' in parsed) throw new ImportError(line, parsed.problem);
    yield { position: line, row: parsed.row };
  }
}

function valuesOf(line: number, statement: string): Record<string, string> {
  const match = insertPattern.exec(statement);
  if (!match) {
    throw new ImportError(line, `expected INSERT INTO "starter_pxcodes" ("pxcode","procedure") VALUES ('...','...'); got: ${statement.slice(0, 80)}`);
  }
  const [, first, second, a, b] = match;
  if (first?.toLowerCase() === second?.toLowerCase()) throw new ImportError(line, `column ${first} is listed twice`);
  return {
    [first!.toLowerCase()]: a!.replaceAll("''", "'"),
    [second!.toLowerCase()]: b!.replaceAll("''", "'"),
  };
}
