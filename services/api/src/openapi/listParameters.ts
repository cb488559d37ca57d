import { z } from 'zod';
import { maxCodes, maxPerPage, rawQuery } from '../pxcodes/listQuery';

// Words for the list's parameters. The parameters themselves are the zod query object's keys, so
// one added there appears in the document as it is, described here or by its own .meta().
const notes: Record<string, string> = {
  page: 'The page number, from 1; not with cursor',
  per_page: `Items per page; a larger value is taken as ${maxPerPage}`,
  cursor: 'Keyset paging: empty to start, then the value in the `next` link; not with page',
  pxcode: `Only these codes: a comma-separated list of at most ${maxCodes}`,
  pxcode_prefix: 'Only codes that start with this',
  sort: 'A comma-separated order of pxcode, procedure, -pxcode, -procedure (insertion order without it); relevance, alone, with q (its default)',
  q: 'Text search: every word, as a word or part of one, in procedure (case, accents and punctuation aside), or q starts the code; best first. At most 200 characters',
  match: 'fuzzy: a word also matches a word like it (a misspelling); only with q',
  fields: 'Only these keys in each item: a comma-separated list of procedure, pxcode, url',
};

/** The list's query, as the zod object that parses it, with the words above where a parameter has none. */
export function listQueryParameters(): z.ZodObject {
  const described = Object.entries(rawQuery.shape).map(([name, schema]) => {
    const note = notes[name];
    return [name, note && !(schema as z.ZodType).meta()?.description ? (schema as z.ZodType).meta({ description: note }) : schema];
  });
  return z.object(Object.fromEntries(described));
}
