import { z } from 'zod';
import { maxPerPage } from './listQuery';
import { pxcodeSchema, procedureSchema } from './schema';

// What items and pages look like (representation.ts renders them): the document's response
// schemas, and the test suites check every real answer against them.

const absoluteUrl = z.url({ protocol: /^https?$/ });
const count = z.int().min(0);

export const pxcodeItemSchema = z
  .strictObject({ procedure: procedureSchema, pxcode: pxcodeSchema, url: absoluteUrl.meta({ description: "The item's own URL" }) })
  .meta({ id: 'Pxcode', description: 'A procedure code; keys in this order' });

export const pageMetaSchema = z
  .strictObject({
    first: absoluteUrl,
    last: absoluteUrl,
    next: absoluteUrl.nullable(),
    page: z.int().min(1).nullable().meta({ description: 'null on a page reached by cursor' }),
    pages: count.meta({ description: '0 for an empty list, whose only page is 1' }),
    per_page: z.int().min(1).max(maxPerPage),
    prev: absoluteUrl.nullable().meta({ description: 'null on the first page and on a page reached by cursor' }),
    total: count.meta({ description: 'Exact: the rows that match the filters' }),
  })
  .meta({ id: 'PageMeta', description: 'Where the page is; the links carry every parameter but the paging ones' });

export const pxcodePageSchema = z
  .strictObject({
    items: z.array(pxcodeItemSchema.partial().meta({ description: 'An item with the keys `fields` names (all three without it)' })),
    meta: pageMetaSchema,
  })
  .meta({ id: 'PxcodePage', description: 'One page of the list' });
