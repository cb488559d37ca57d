import type { Knex } from 'knex';
import type { Database } from '../db/database';
import type { Search } from './search';

// The code column has the "C" collation, so a prefix LIKE is a range scan of the unique index.
export const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

// Each word goes through the function that made search_text (20261203020000_pxcodes_search): it is
// immutable, so PostgreSQL folds it into a constant pattern when it plans, and the trigram index
// serves the LIKE. Normalised words hold no % or _ (punctuation became spaces).
const word = 'starter_search_text(?)';
type Sql = [string, string[]];

function wordMatches(search: Search): Sql {
  const one = search.fuzzy ? `(search_text LIKE '%' || ${word} || '%' OR search_text %> ${word})` : `search_text LIKE '%' || ${word} || '%'`;
  const each = search.words.map(() => one).join(' AND ');
  return [each, search.words.flatMap((w) => (search.fuzzy ? [w, w] : [w]))];
}

/** Every word in procedure, or q the start of the code. */
function where(search: Search): Sql {
  const [words, bindings] = wordMatches(search);
  if (search.codePrefix === undefined) return [words, bindings];
  return [`((${words}) OR pxcode LIKE ? ESCAPE '\\')`, [...bindings, `${escapeLike(search.codePrefix)}%`]];
}

// Relevance: a code that starts with q first; then, per word, a whole word over the start of a word
// over a part of one (fuzzy: how alike the word and its best match are); shorter text breaks ties.
function score(search: Search): Sql {
  const plain = `CASE WHEN search_text LIKE '% ' || ${word} || ' %' THEN 2 WHEN search_text LIKE '% ' || ${word} || '%' THEN 1 ELSE 0 END`;
  const perWord = search.fuzzy ? `2 * word_similarity(${word}, search_text)` : plain;
  const words = search.words.map(() => perWord).join(' + ');
  const bindings = search.words.flatMap((w) => (search.fuzzy ? [w] : [w, w]));
  const code = search.codePrefix === undefined ? '' : ` + CASE WHEN pxcode LIKE ? ESCAPE '\\' THEN 10 ELSE 0 END`;
  const codeBindings = search.codePrefix === undefined ? [] : [`${escapeLike(search.codePrefix)}%`];
  return [`(${words}${code} + 0.1::float8 / octet_length(search_text))::real`, [...bindings, ...codeBindings]];
}

/** The rows that match, as a table of the same name with one more column, relevance (real). */
export function searched(db: Database, search: Search): Knex.QueryBuilder {
  const [whereSql, whereBindings] = where(search);
  const [scoreSql, scoreBindings] = score(search);
  const rows = db('starter_pxcodes')
    .select('id', 'pxcode', 'procedure', db.raw(`${scoreSql} AS relevance`, scoreBindings))
    .whereRaw(whereSql, whereBindings);
  return db.from(rows.as('starter_pxcodes'));
}
