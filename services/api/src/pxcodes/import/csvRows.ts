import { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import { ImportError, parseRow, type SourceRow } from './sourceRow';
import { utf8Text } from './textLines';

interface CsvRecord {
  record: string[];
  line: number | undefined;
}

/**
 * CSV records through csv-parse. Its line numbers (`info`) cost more than the parsing itself, so
 * the fast pass goes without them and a second pass finds the line when there is an error to name.
 */
async function* csvRecords(file: string, withLines: boolean): AsyncGenerator<CsvRecord> {
  // The text ends where reading it failed, and the error comes after the records before it (a
  // stream's error would drop those still buffered), so that an earlier bad line or duplicate is named.
  let textError: unknown;
  async function* text() {
    try {
      yield* utf8Text(file);
    } catch (error) {
      textError = error;
    }
  }
  const parser = Readable.from(text()).pipe(parseCsv({ bom: true, skip_empty_lines: true, info: withLines }));
  try {
    for await (const item of parser as AsyncIterable<string[] | { record: string[]; info: { lines: number } }>) {
      yield Array.isArray(item) ? { record: item, line: undefined } : { record: item.record, line: item.info.lines };
    }
  } catch (error) {
    const csvError = error as { code?: string; lines?: number; message: string };
    // Text cut short by a line that could not be read may leave a quote open: that line is the error.
    if (textError !== undefined && csvError.code === 'CSV_QUOTE_NOT_CLOSED') throw textError;
    if (csvError.code?.startsWith('CSV_')) throw new ImportError(csvError.lines ?? 0, csvError.message);
    throw error;
  }
  if (textError !== undefined) throw textError;
}

type Columns = { pxcode: number; procedure: number };

function columnsOf(header: string[]): Columns {
  const names = header.map((name) => name.trim().toLowerCase());
  if (names.length !== 2 || !names.includes('pxcode') || !names.includes('procedure')) {
    throw new ImportError(1, `the header must be "pxcode,procedure", not "${header.join(',')}"`);
  }
  return { pxcode: names.indexOf('pxcode'), procedure: names.indexOf('procedure') };
}

/** The rows of a CSV file with the header "pxcode,procedure" (in either order). */
export async function* csvRows(file: string, withLines = false): AsyncGenerator<SourceRow> {
  let position = 0;
  let columns: Columns | undefined;
  for await (const { record, line } of csvRecords(file, withLines)) {
    if (!columns) {
      columns = columnsOf(record);
      continue;
    }
    position++;
    const parsed = parseRow({ pxcode: record[columns.pxcode], procedure: record[columns.procedure] });
    if ('problem' in parsed) throw new ImportError(line ?? (await csvLineOf(file, position)), parsed.problem);
    yield { position: line ?? position, row: parsed.row };
  }
  if (!columns) throw new ImportError(1, 'the file is empty: expected the header "pxcode,procedure"');
}

/** The line on which the CSV's n-th data record ends. */
async function csvLineOf(file: string, recordNumber: number): Promise<number> {
  let seen = -1; // the header comes first
  for await (const { line } of csvRecords(file, true)) if (++seen === recordNumber) return line ?? 0;
  return 0;
}
