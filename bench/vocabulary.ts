// Procedure text for the large table, made of the sample data's words, so searches meet rare and
// common words as on real data: word ranks follow a Zipf law (exponent 2.5) over the sample's
// words by their frequency there; a few ranks cover a tenth of the rows, the last ones under 100.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from 'pg';

const sampleFile = path.resolve(__dirname, '../../../services/api/data/starter_pxcodes.sql');

/** The sample's words (split at spaces and slashes: W/O is W and O), most frequent first, ties in code point order. */
export function sampleVocabulary(): string[] {
  const counts = new Map<string, number>();
  for (const [, procedure] of readFileSync(sampleFile, 'utf8').matchAll(/VALUES \('[^']*','((?:[^']|'')*)'\)/g)) {
    for (const word of procedure!.replace(/''/g, "'").split(/[\s/]+/).filter((word) => /[A-Z0-9]/i.test(word))) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return [...counts].sort(([a, m], [b, n]) => n - m || (a < b ? -1 : a > b ? 1 : 0)).map(([word]) => word);
}

const exponent = 2.5;

/** The share of rows expected to hold the word of `rank` (1-based) among `size` words, 5 words a row. */
export function expectedShare(rank: number, size: number): number {
  const cdf = (x: number) => (1 - x ** (1 - exponent)) / (1 - (size + 1) ** (1 - exponent));
  return 1 - (1 - (cdf(rank + 1) - cdf(rank))) ** 5;
}

/**
 * Inserts `rows` codes 'M<hex i>' with 3 to 7 words each, drawn in SQL (deterministic: a
 * multiplicative hash of row and position, through the inverse of the law's distribution).
 */
export async function insertRealisticRows(client: Client, rows: number, vocabulary: string[]): Promise<void> {
  // In statements of 100k rows: one long statement once made the test server's backend die.
  for (let from = 1; from <= rows; from += 100_000) await insertRows(client, from, Math.min(rows, from + 99_999), vocabulary);
}

function insertRows(client: Client, from: number, to: number, vocabulary: string[]) {
  return client.query(
    `insert into starter_pxcodes (pxcode, procedure)
     select 'M' || to_hex(i), (
       select string_agg(($2::text[])[least(floor(power(1 - ((((i::bigint * 8 + j) * 2654435761) % 4294967296) / 4294967296.0) * $3, $4))::int, $5)], ' ')
       from generate_series(1, 3 + i % 5) as j)
     from generate_series($1::int, $6::int) as i`,
    [from, vocabulary, 1 - (vocabulary.length + 1) ** (1 - exponent), 1 / (1 - exponent), vocabulary.length, to],
  );
}
