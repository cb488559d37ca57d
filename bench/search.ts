// The search scenarios (q=, match=fuzzy) on the large table: each request a distinct URL (so
// none comes from the answer cache), one client, as issue 14 sets their targets.
import { expectedShare, sampleVocabulary } from './vocabulary';
import type { LoadResult } from './load';
import { oneClientResult } from './oneClient';

export interface SearchRow {
  scenario: string;
  result: LoadResult;
  target: string;
  note: string;
}

const log = (message: string) => process.stderr.write(`bench: ${message}\n`);

/** The sample's words as a search sees them (letters and digits, lower-case), each once, most frequent first. */
function searchWords(): { word: string; rank: number }[] {
  const vocabulary = sampleVocabulary();
  const seen = new Set<string>();
  const words: { word: string; rank: number }[] = [];
  vocabulary.forEach((token, i) => {
    const word = token.toLowerCase().replace(/[^a-z0-9]/g, '');
    if (word.length >= 3 && !seen.has(word)) words.push({ word, rank: i + 1 });
    seen.add(word);
  });
  return words;
}

async function get(url: string, auth: string): Promise<{ ms: number; status: number; total: number }> {
  const started = process.hrtime.bigint();
  const response = await fetch(url, { headers: { authorization: auth } });
  const body = (await response.json()) as { meta?: { total?: number } };
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, status: response.status, total: body.meta?.total ?? -1 };
}

/** How many rows each word matches, asked one at a time (the API caps connections per address). */
async function totalsOf(words: string[], base: string, auth: string): Promise<{ word: string; total: number }[]> {
  const totals: { word: string; total: number }[] = [];
  for (const word of words) totals.push({ word, total: (await get(`${base}/?q=${word}&per_page=1`, auth)).total });
  return totals;
}

/** Times each URL once, in turn; the note says how many rows they matched. */
async function timed(scenario: string, target: string, urls: string[], auth: string): Promise<SearchRow> {
  log(scenario);
  const timings: number[] = [];
  const totals: number[] = [];
  const statusCodes: Record<string, number> = {};
  for (const url of urls) {
    const { ms, status, total } = await get(url, auth);
    timings.push(ms);
    totals.push(total);
    statusCodes[status] = (statusCodes[status] ?? 0) + 1;
  }
  const result = oneClientResult(timings, statusCodes);
  return {
    scenario,
    result,
    target,
    note: `p50 ${result.p50} ms; ${urls.length} queries matching ${Math.min(...totals)} to ${Math.max(...totals)} rows`,
  };
}

/** A letter pair swapped in the middle: the commonest typing slip. */
const misspelt = (word: string) => {
  const i = Math.floor(word.length / 2);
  return word.slice(0, i - 1) + word[i] + word[i - 1] + word.slice(i + 1);
};

/** The search scenarios on a table of `rows` rows made by insertRealisticRows. */
export async function searchScenarios(base: string, auth: string, rows: number, quick: boolean): Promise<SearchRow[]> {
  const words = searchWords();
  const size = sampleVocabulary().length;
  const count = quick ? 5 : 20;
  const share = (rank: number) => expectedShare(rank, size) * rows;
  // Words the law makes rare, kept when the API agrees (a rare word may be part of a common one).
  const candidates = words.filter(({ rank }) => share(rank) < 60);
  const checked = await totalsOf(candidates.map(({ word }) => word), base, auth);
  const rare = checked.filter(({ total }) => total < 100);
  if (rare.length === 0) rare.push(...checked.sort((a, b) => a.total - b.total).slice(0, 1));
  const rareUrls = Array.from({ length: count }, (_, i) => `${base}/?q=${rare[i % rare.length]!.word}&per_page=${10 + Math.floor(i / rare.length)}`);
  // The word nearest a tenth of the rows, by the count the API gives (a word can be part of others).
  const totals = await totalsOf(words.slice(0, 15).map(({ word }) => word), base, auth);
  const common = totals.reduce((best, next) => (Math.abs(next.total - rows / 10) < Math.abs(best.total - rows / 10) ? next : best));
  const commonUrls = Array.from({ length: count }, (_, i) => `${base}/?q=${common.word}&per_page=${10 + i}`);
  const long = words.filter(({ word }) => word.length >= 6);
  const fuzzyWords = long.filter(({ rank }) => share(rank) < rows / 100);
  if (fuzzyWords.length === 0) fuzzyWords.push(long[long.length - 1]!);
  const fuzzyUrls = Array.from({ length: count }, (_, i) => `${base}/?q=${misspelt(fuzzyWords[i % fuzzyWords.length]!.word)}&match=fuzzy&per_page=${10 + Math.floor(i / fuzzyWords.length)}`);
  return [
    await timed('search: a rare word (q=, under 100 rows), uncached, one client', 'p50 < 10 ms', rareUrls, auth),
    await timed(`search: a common word (q=${common.word}), page 1 with its exact total, uncached, one client`, 'p50 < 150 ms', commonUrls, auth),
    await timed('search: a misspelt word (match=fuzzy), uncached, one client', 'p50 < 50 ms', fuzzyUrls, auth),
  ];
}
