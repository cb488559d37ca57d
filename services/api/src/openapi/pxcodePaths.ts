import type { OpenAPIRegistry, ResponseConfig } from '@asteasolutions/zod-to-openapi';
import type { HeaderName } from './headers';
import { z } from 'zod';
import { pxcodeItemSchema, pxcodePageSchema } from '../pxcodes/representationSchema';
import { createBody, patchBody, pxcodeSchema, replaceBody } from '../pxcodes/schema';
import { exampleChange, exampleEtag, exampleItem, exampleNewItem, examplePage } from './examples';
import { listQueryParameters } from './listParameters';
import { authErrors, errorResponses, notModified, success } from './responses';

// Without the trailing slash the seed's links have: both answer the same, and OpenAPI paths end without one.
const collection = '/api/v1.0/pxcodes';
const item = '/api/v1.0/pxcodes/{pxcode}';
const tags = ['pxcodes'];

const itemParams = z.object({ pxcode: pxcodeSchema.meta({ description: 'The code', example: exampleItem.pxcode }) });
const ifNoneMatch = z.object({ 'If-None-Match': z.string().optional().meta({ description: 'An ETag from an earlier answer: 304 while it is current' }) });
const ifMatch = z.object({ 'If-Match': z.string().optional().meta({ description: 'The ETag the item was read with (or *): 412 if it has changed since', example: exampleEtag }) });

const jsonBody = (schema: z.ZodType, example: unknown, description: string) => ({
  description,
  required: true,
  content: { 'application/json': { schema, example } },
});

const bodyErrors = {
  413: 'The body is larger than BODY_LIMIT',
  415: 'The body is not JSON, or in a Content-Encoding or charset other than gzip, deflate, br, identity and UTF-8',
};
// Every route of the collection reads a body when one is sent, so a GET or DELETE with one meets these too.
const strayBodyErrors = {
  413: 'A body was sent (none is needed) larger than BODY_LIMIT',
  415: 'A body was sent (none is needed) in a Content-Encoding or charset other than gzip, deflate, br, identity and UTF-8',
};
const itemSent = (description: string, required: HeaderName[] = []) => success({ description, schema: pxcodeItemSchema, example: exampleItem, headers: ['Cache-Control'], required: ['ETag', ...required] });
const notAcceptable = { 406: 'The Accept header names nothing this path can answer (the collection: JSON or CSV; an item: JSON)' };
const exampleCsv = `pxcode,procedure\n${exampleItem.pxcode},${exampleItem.procedure}\n`;
/** The page as JSON, or with Accept: text/csv every row that matches, as one file. */
function listSent(): ResponseConfig {
  const page = success({ description: 'A page (JSON; Link repeats its links), or with Accept: text/csv every matching row as CSV, header pxcode,procedure (no paging parameters)', schema: pxcodePageSchema, example: examplePage, headers: ['Cache-Control', 'ETag', 'Link', 'Content-Disposition'], required: ['Vary'] });
  return { ...page, content: { ...page.content, 'text/csv': { schema: z.string(), example: exampleCsv } } };
}
const precondition = { 412: 'If-Match names an ETag that is no longer current' };
const missing = { 404: 'No item with this code' };

function registerCollection(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'get', path: collection, operationId: 'listPxcodes', tags, summary: 'List the codes, a page at a time',
    description: 'Filters, order and fields combine; the page, its total and its ETag agree (one snapshot). Unknown parameters are refused.',
    request: { query: listQueryParameters(), headers: ifNoneMatch },
    responses: {
      200: listSent(),
      304: notModified(['Vary']),
      ...errorResponses({ ...authErrors, 400: 'A parameter is wrong (the message names it), or the Authorization or Host header is', 404: 'The page is past the last page', ...notAcceptable, ...strayBodyErrors }),
    },
  });
  registry.registerPath({
    method: 'post', path: collection, operationId: 'createPxcode', tags, summary: 'Create a code',
    request: { body: jsonBody(createBody, exampleNewItem, 'The new item; no other fields') },
    responses: {
      201: success({ description: 'Created', schema: pxcodeItemSchema, example: exampleItem, headers: ['Cache-Control'], required: ['Location', 'ETag'] }),
      ...errorResponses({ ...authErrors, 400: 'A field is wrong or missing (the message names it)', 409: 'The code exists already', ...bodyErrors }),
    },
  });
}

function registerItem(registry: OpenAPIRegistry): void {
  const writeErrors = errorResponses({ ...authErrors, 400: 'A field is wrong (the message names it), or pxcode differs from the URL', ...missing, ...precondition, ...bodyErrors });
  registry.registerPath({
    method: 'get', path: item, operationId: 'getPxcode', tags, summary: 'Read a code',
    request: { params: itemParams, headers: ifNoneMatch },
    responses: { 200: itemSent('The item', ['Vary']), 304: notModified(['Vary']), ...errorResponses({ ...authErrors, ...missing, ...notAcceptable, ...strayBodyErrors }) },
  });
  registry.registerPath({
    method: 'put', path: item, operationId: 'replacePxcode', tags, summary: 'Replace a code\'s procedure',
    request: { params: itemParams, headers: ifMatch, body: jsonBody(replaceBody, { procedure: exampleItem.procedure }, 'The whole item; pxcode may be repeated, never changed') },
    responses: { 200: itemSent('The item as stored'), ...writeErrors },
  });
  registry.registerPath({
    method: 'patch', path: item, operationId: 'updatePxcode', tags, summary: 'Change some fields of a code',
    request: { params: itemParams, headers: ifMatch, body: jsonBody(patchBody, exampleChange, 'The fields to change; pxcode may be repeated, never changed') },
    responses: { 200: itemSent('The item as stored'), ...writeErrors },
  });
  registry.registerPath({
    method: 'delete', path: item, operationId: 'deletePxcode', tags, summary: 'Delete a code',
    request: { params: itemParams, headers: ifMatch },
    responses: { 204: success({ description: 'Deleted' }), ...errorResponses({ ...authErrors, ...missing, ...precondition, ...strayBodyErrors }) },
  });
}

export function registerPxcodePaths(registry: OpenAPIRegistry): void {
  registerCollection(registry);
  registerItem(registry);
}
