import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { openApiDocument } from '../src/openapi/document';
import { rawQuery } from '../src/pxcodes/listQuery';
import { buildTestApp, createTestDatabase, type TestDatabase } from './helpers';
import { ResponseChecker } from './openapi';

const committed = path.resolve(__dirname, '../../../docs/openapi.json');

// One database and app for both the document's and the page's tests.
let database: TestDatabase;
let app: ReturnType<typeof buildTestApp>['app'];

beforeAll(async () => {
  database = await createTestDatabase();
  app = buildTestApp(database.db).app;
});
afterAll(() => database.drop());

describe('the OpenAPI document', () => {
  it('is the committed docs/openapi.json', () => {
    const same = readFileSync(committed, 'utf8') === openApiDocument().json;
    if (!same) throw new Error('docs/openapi.json differs from what the code generates: run npm run openapi and commit it');
  });

  it('lists every parameter of the zod query object that parses the list', () => {
    const list = openApiDocument().document.paths!['/api/v1.0/pxcodes']!.get!;
    const names = (list.parameters as { name: string; in: string }[]).filter((p) => p.in === 'query').map((p) => p.name);
    expect(names).toEqual(Object.keys(rawQuery.shape));
  });

  it('is served without credentials, with an ETag that makes a repeat 304', async () => {
    const res = await request(app).get('/api/v1.0/openapi.json').expect(200);
    expect(res.type).toBe('application/json');
    expect(res.body).toEqual(openApiDocument().document);
    expect(res.headers.etag).toMatch(/^"/);
    await request(app).get('/api/v1.0/openapi.json').set('If-None-Match', res.headers.etag!).expect(304);
  });

  it('passes the recommended OpenAPI lint rules with no errors', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(__dirname, 'lintOpenApi.mjs'), committed]);
    const problems = JSON.parse(stdout) as { severity: string; rule: string; message: string; where: string }[];
    expect(problems.filter((problem) => problem.severity === 'error')).toEqual([]);
  });
});

describe('the docs page', () => {
  it.each(['/docs', '/docs/'])('%s is Swagger UI without credentials, its scripts from this origin only', async (url) => {
    const res = await request(app).get(url).expect(200);
    expect(res.type).toBe('text/html');
    const sources = [...res.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(sources.every((source) => source.startsWith('/docs/'))).toBe(true);
    expect(res.text).not.toMatch(/<script>/);
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self'/);
  });

  it('serves its initializer and Swagger UI files', async () => {
    const initializer = await request(app).get('/docs/starter-initializer.js').expect(200);
    expect(initializer.text).toContain('"/api/v1.0/openapi.json"');
    expect(initializer.text).toContain("validatorUrl: 'none'");
    await request(app).get('/docs/swagger-ui-bundle.js').expect(200).expect('Content-Type', /javascript/);
    await request(app).get('/docs/swagger-ui.css').expect(200).expect('Content-Type', /css/);
  });

  it.each(['/docs/index.html', '/docs/swagger-initializer.js', '/docs/package.json', '/docs/swagger-ui.js.map'])(
    'does not serve the rest of swagger-ui-dist (%s: its demo page loads a document from elsewhere)',
    async (url) => {
      expect((await request(app).get(url)).status).toBe(404);
    },
  );
});

describe('the response checker', () => {
  const checker = new ResponseChecker();
  const json = { 'content-type': 'application/json; charset=utf-8' };
  const item = { procedure: 'A', pxcode: '039', url: 'http://localhost/api/v1.0/pxcodes/039' };

  it('passes an answer as the document describes it', () => {
    expect(checker.check('GET', 'http://x/api/v1.0/pxcodes/039', { status: 200, headers: { ...json, etag: '"a"', vary: 'Accept' }, body: item })).toBeUndefined();
  });

  it.each([
    ['an unlisted status', { status: 418, headers: json, body: {} }, /does not list/],
    ['a missing required header', { status: 200, headers: json, body: item }, /ETag is required/],
    ['a body off its schema', { status: 200, headers: { ...json, etag: '"a"' }, body: { ...item, extra: 1 } }, /additional/],
    ['another content type', { status: 200, headers: { 'content-type': 'text/plain', etag: '"a"' }, text: 'x' }, /Content-Type 'text\/plain'/],
  ])('fails %s', (_what, answer, problem) => {
    expect(checker.check('GET', 'http://x/api/v1.0/pxcodes/039', answer)).toMatch(problem);
  });

  it('fails a success on an API path the document does not hold, and passes errors there in the error shape', () => {
    expect(checker.check('GET', 'http://x/api/v1.0/other', { status: 200, headers: json, body: {} })).toMatch(/no path/);
    const notFound = { status: 404, error: 'Not Found', message: 'no resource at GET /api/v1.0/other' };
    expect(checker.check('GET', 'http://x/api/v1.0/other', { status: 404, headers: json, body: notFound })).toBeUndefined();
  });
});
