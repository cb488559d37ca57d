import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { registerHeaders } from './headers';
import { registerPublicPaths } from './publicPaths';
import { registerPxcodePaths } from './pxcodePaths';

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

const tags = [
  { name: 'pxcodes', description: 'The collection of procedure codes' },
  { name: 'auth', description: 'Bearer tokens for a user name and password' },
  { name: 'documentation', description: 'This document and its page' },
  { name: 'probes', description: 'Liveness and readiness, for orchestrators: no credentials, no rate limit' },
];

function registry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'basicAuth', { type: 'http', scheme: 'basic', description: 'User name and password (UTF-8); or a token as the user name with an empty password, as the seed sends it' });
  registry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A token from GET /auth/request-token' });
  registerHeaders(registry);
  registerPxcodePaths(registry);
  registerPublicPaths(registry);
  return registry;
}

let built: OpenAPIDocumentCache | undefined;
type OpenAPIDocumentCache = { document: OpenApiDocument; json: string };

/**
 * The API's OpenAPI 3.1 document, built from the zod schemas that parse the requests. The same
 * for every process and host (servers are relative), so docs/openapi.json is this, committed.
 */
export function openApiDocument(): OpenAPIDocumentCache {
  if (built) return built;
  const document = new OpenApiGeneratorV31(registry().definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'starter',
      version: '1.0',
      description: 'CRUD on medical procedure codes. Errors are `{status, error, message}`; writes take If-Match, reads If-None-Match.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/', description: 'The API that serves this document' }],
    security: [{ basicAuth: [] }, { bearerAuth: [] }],
    tags,
  });
  built = { document, json: `${JSON.stringify(document, null, 2)}\n` };
  return built;
}
