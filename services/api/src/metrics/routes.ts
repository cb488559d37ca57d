/** One label for every path nothing routes, however many are asked. */
export const unmatched = 'unmatched';

// As Express matches: any case, one trailing slash or none. The commonest first.
const templates: ReadonlyArray<readonly [RegExp, string]> = [
  [/^\/api\/v1\.0\/pxcodes\/?$/i, '/api/v1.0/pxcodes'],
  [/^\/api\/v1\.0\/pxcodes\/[^/]+\/?$/i, '/api/v1.0/pxcodes/:pxcode'],
  [/^\/health\/?$/i, '/health'],
  [/^\/ready\/?$/i, '/ready'],
  [/^\/auth\/request-token\/?$/i, '/auth/request-token'],
  [/^\/api\/v1\.0\/openapi\.json\/?$/i, '/api/v1.0/openapi.json'],
  // The page and the Swagger UI files it loads, under one label.
  [/^\/docs(\/[^/]*)?$/i, '/docs'],
];

/** The route template of a path, never the path itself; a 401 or 429 for an item gets the item's. */
export function routeTemplate(url: string | undefined): string {
  if (!url) return unmatched;
  const query = url.indexOf('?');
  let path = query === -1 ? url : url.slice(0, query);
  // Absolute form (GET http://host/path): Express routes the path after the authority.
  if (path.charCodeAt(0) !== 47 /* '/' */) path = /^[a-z][a-z0-9+.-]*:\/\/[^/]*(\/.*)?$/i.exec(path)?.[1] ?? '';
  for (const [pattern, template] of templates) if (pattern.test(path)) return template;
  return unmatched;
}
