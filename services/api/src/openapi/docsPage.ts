import { docsPath, openApiPath } from './publicPaths';

// Swagger UI's own page, with absolute asset paths so /docs and /docs/ both work, and no inline
// script: the initializer is a file of its own, so the page's CSP allows scripts from 'self' only.
export const docsHtml = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>starter API</title>
    <link rel="stylesheet" type="text/css" href="${docsPath}/swagger-ui.css">
    <link rel="icon" type="image/png" href="${docsPath}/favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${docsPath}/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="${docsPath}/starter-initializer.js" charset="UTF-8"></script>
  </body>
</html>
`;

// validatorUrl none: the UI would otherwise send the document to a validator elsewhere.
export const docsInitializer = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(openApiPath)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: 'none',
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
`;

/** Everything from this origin; Swagger UI sets styles inline and draws some icons as data: URLs. */
export const docsContentSecurityPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
