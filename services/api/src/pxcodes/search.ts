import { z } from 'zod';
import { pxcodeSchema } from './schema';

export const maxQueryLength = 200;
/** Each word is one more pattern per row (fuzzy: a similarity): bounded, as procedures are short. */
export const maxWords = 20;

/** What q= asks for: every word in procedure (or q a prefix of the code); fuzzy forgives misspellings. */
export interface Search {
  q: string;
  /** q's words as sent; PostgreSQL normalises each with the function that made search_text. */
  words: string[];
  /** q itself, when it could begin a code. */
  codePrefix?: string;
  fuzzy: boolean;
}

// Letters, digits and their combining marks make words; anything else separates them, as the
// database's function turns it into spaces (so 'w/o' is the words w and o).
const separators = /[^\p{L}\p{N}\p{M}]+/u;

export const querySchema = z
  .string({ error: 'must be a single text' })
  .max(maxQueryLength, `must be at most ${maxQueryLength} characters`)
  .transform((q, ctx) => {
    // A word of combining marks alone loses them to unaccent and would match every row.
    const words = q.split(separators).filter((word) => /[\p{L}\p{N}]/u.test(word));
    if (q === '') ctx.addIssue({ code: 'custom', message: 'must not be empty (words to find in procedure, or the start of a code)' });
    else if (words.length === 0) ctx.addIssue({ code: 'custom', message: 'must hold a letter or digit: spaces and punctuation alone match nothing' });
    else if (words.length > maxWords) ctx.addIssue({ code: 'custom', message: `must hold at most ${maxWords} words, not ${words.length}` });
    return { text: q, words };
  });

export const matchSchema = z.enum(['fuzzy'], { error: "must be 'fuzzy' (misspelt words still match), or left out" });

export function searchOf(q: string, words: string[], fuzzy: boolean): Search {
  return { q, words, fuzzy, ...(pxcodeSchema.safeParse(q).success ? { codePrefix: q } : {}) };
}
