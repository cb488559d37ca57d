import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { openApiDocument } from './document';

// npm run openapi: writes docs/openapi.json, the document this code serves (a test compares them).
const target = path.resolve(__dirname, '../../../../docs/openapi.json');
writeFileSync(target, openApiDocument().json);
console.log(`wrote ${path.relative(process.cwd(), target)}`);
