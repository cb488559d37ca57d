import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { authErrors, errorResponses, notModified, publicErrors, success } from './responses';
import { healthSchema, openApiDocumentSchema, readySchema, tokenSchema } from './schemas';

export const openApiPath = '/api/v1.0/openapi.json';
export const docsPath = '/docs';

const noStore = { 'Cache-Control': { description: '`no-store`: always asked again', schema: { type: 'string' as const } } };
// Only the origin form skips the door, so that no path that normalises to a probe's can.
const absoluteForm = errorResponses({ 429: 'Only for an absolute-form request line (`GET http://host/health`): the door counts it like any other request' });

/** Probes: no door, no credentials, nothing but the body. */
function registerProbes(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'get', path: '/health', operationId: 'health', tags: ['probes'], security: [], summary: 'Liveness: the process answers',
    responses: { 200: { description: 'Alive', headers: noStore, content: { 'application/json': { schema: healthSchema, example: { status: 'ok' } } } }, ...absoluteForm },
  });
  const readiness = (description: string, example: unknown) => ({ description, headers: noStore, content: { 'application/json': { schema: readySchema, example } } });
  registry.registerPath({
    method: 'get', path: '/ready', operationId: 'ready', tags: ['probes'], security: [], summary: 'Readiness: the database answers (checked at most once a second)',
    responses: {
      200: readiness('Ready', { status: 'ready', database: 'up' }),
      503: readiness('The database does not answer', { status: 'unavailable', database: 'down' }),
      ...absoluteForm,
    },
  });
}

function registerTokens(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'get', path: '/auth/request-token', operationId: 'requestToken', tags: ['auth'], security: [{ basicAuth: [] }],
    summary: 'A bearer token for the user named by basic auth (a token cannot renew itself)',
    responses: {
      200: {
        description: 'A new token; never cached',
        headers: { 'Cache-Control': { description: '`no-cache, no-store, max-age=0`', schema: { type: 'string' } } },
        content: { 'application/json': { schema: tokenSchema, example: { token: 'eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl', expires_in: 3600 } } },
      },
      ...errorResponses({ ...authErrors, 401: 'No password, a wrong one, or a token', 404: 'Token authentication is off (AUTH_MODES)' }),
    },
  });
}

function registerDocumentation(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'get', path: openApiPath, operationId: 'getOpenApi', tags: ['documentation'], security: [], summary: 'This document (OpenAPI 3.1)',
    request: { headers: z.object({ 'If-None-Match': z.string().optional().meta({ description: 'An ETag from an earlier answer: 304 while it is current' }) }) },
    responses: { 200: success({ description: 'The document', schema: openApiDocumentSchema, required: ['ETag'] }), 304: notModified(), ...errorResponses(publicErrors) },
  });
  registry.registerPath({
    method: 'get', path: docsPath, operationId: 'docsPage', tags: ['documentation'], security: [], summary: 'This document in Swagger UI, served by the API itself',
    responses: { 200: success({ description: 'The page', schema: z.string(), mediaType: 'text/html', required: ['ETag'] }), 304: notModified(), ...errorResponses(publicErrors) },
  });
}

export function registerPublicPaths(registry: OpenAPIRegistry): void {
  registerProbes(registry);
  registerTokens(registry);
  registerDocumentation(registry);
}
