import { z } from 'zod';

const required = (expected: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? 'is required' : `must be ${expected}`;

// Procedure codes live in URLs, so they keep to characters that need no escaping there:
// MS-DRG "039", ICD-10-PCS "0016070", ICD-9 "39.95", CPT "99213".
export const pxcodeSchema = z
  .string({ error: required('a string') })
  .regex(/^[A-Za-z0-9._-]{1,10}$/, 'must be 1 to 10 letters, digits, dots, dashes or underscores');

// Reference text is stored as sent or refused. A lone UTF-16 surrogate would be stored as U+FFFD;
// controls (tab, line feed and carriage return aside: a description may run over lines) and
// bidirectional overrides and isolates would show text other than what is stored.
export const loneSurrogate = /\p{Cs}/u;
const control = /[\x01-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]/;
const bidiOverride = /[\u202A-\u202E\u2066-\u2069]/;

// Only these are trimmed: String.prototype.trim would also take controls (VT, FF) and other
// white space (NBSP, U+FEFF, U+2028) away unseen, where text is to be stored as sent or refused.
const edgeSpace = new Set([' ', '\t', '\r', '\n']);
function trimSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && edgeSpace.has(text[start]!)) start++;
  while (end > start && edgeSpace.has(text[end - 1]!)) end--;
  return text.slice(start, end);
}

export const maxProcedureLength = 255;

export const procedureSchema = z
  .string({ error: required('a string') })
  .overwrite(trimSpace)
  .min(1, 'must not be empty')
  .max(maxProcedureLength, `must be at most ${maxProcedureLength} characters`)
  .refine((text) => !text.includes('\0'), 'must not contain NUL characters')
  .refine((text) => !loneSurrogate.test(text), 'must be valid Unicode (it holds a lone UTF-16 surrogate)')
  .refine((text) => !control.test(text), 'must not contain control characters other than tab, line feed and carriage return')
  .refine((text) => !bidiOverride.test(text), 'must not contain bidirectional overrides or isolates (U+202A to U+202E, U+2066 to U+2069)');

export const createBody = z.strictObject(
  { pxcode: pxcodeSchema, procedure: procedureSchema },
  {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown field ${issue.keys.map((key) => `"${key}"`).join(', ')}`;
      return issue.input === undefined ? 'a JSON object is required' : 'must be a JSON object';
    },
  },
);

// The code is the item's identity: PUT and PATCH may repeat it but never change it.
export const replaceBody = createBody.extend({ pxcode: pxcodeSchema.optional() });
export const patchBody = replaceBody.partial();

export type NewPxcode = z.infer<typeof createBody>;
export type PxcodeChanges = Partial<NewPxcode>;
