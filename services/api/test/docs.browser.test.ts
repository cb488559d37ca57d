import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { chromium, type Browser, type Page, type Response } from 'playwright-core';
import request from 'supertest';
import { openApiDocument } from '../src/openapi/document';
import { addTestUser, buildTestApp, portOf, sampleDataFixture } from './helpers';
import { checkAnswer } from './openapi';

// The docs page in Debian's chromium (no browser download): it loads from the API alone, shows
// every operation, and "Try it out" works with basic auth and with a bearer token.

const screenshot = path.resolve(__dirname, '../../../.ci/out/docs.png');

function chromiumPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed: apt-get install chromium (Debian\'s package; .ci/run installs it)');
  }
}

/** Every operation in the document, as Swagger UI names its block: operations-<tag>-<operationId>. */
function operationBlocks(): string[] {
  const blocks: string[] = [];
  for (const pathItem of Object.values(openApiDocument().document.paths ?? {})) {
    for (const operation of Object.values(pathItem as Record<string, { operationId?: string; tags?: string[] }>)) {
      if (operation.operationId) blocks.push(`operations-${operation.tags![0]}-${operation.operationId}`);
    }
  }
  return blocks;
}

const fixture = sampleDataFixture();
let server: Server;
let origin: string;
let browser: Browser;
let page: Page;
const requested: string[] = [];

// What the browser received is checked against the document too, as the hook checks fetch.
const checks: Promise<string | undefined>[] = [];
async function checkReceived(answer: Response): Promise<string | undefined> {
  const headers = await answer.allHeaders();
  const sent = await answer.request().allHeaders();
  // Chromium shows a revalidated cache entry as a 200 with the headers of the 304 that came.
  if (sent['if-none-match'] && !headers['content-type']) return checkAnswer('browser', 'GET', answer.url(), { status: 304, headers, unread: true });
  const text = await answer.text().catch(() => undefined); // none for a redirect
  return checkAnswer('browser', answer.request().method(), answer.url(), { status: answer.status(), headers, ...(text === undefined ? { unread: true } : { text }) });
}
afterEach(async () => expect((await Promise.all(checks.splice(0))).filter(Boolean)).toEqual([]));

beforeAll(async () => {
  await addTestUser(fixture.db, 'admin', 'admin');
  server = await fixture.listening(buildTestApp(fixture.db).app);
  origin = `http://127.0.0.1:${portOf(server)}`;
  browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('request', (sent) => requested.push(sent.url()));
  page.on('response', (answer) => checks.push(checkReceived(answer)));
}, 60_000);
afterAll(() => browser?.close());

/** Expands the list operation, tries it out and waits for its answer, in view; returns the status and body shown. */
async function tryTheList(): Promise<{ status: string; body: string }> {
  const block = page.locator('#operations-pxcodes-listPxcodes');
  if (await block.locator('button.btn-clear').isVisible()) await block.locator('button.btn-clear').click();
  if (!(await block.locator('button.try-out__btn').isVisible())) await block.locator('.opblock-summary').first().click();
  if ((await block.locator('button.try-out__btn').textContent())?.includes('Try it out')) await block.locator('button.try-out__btn').click();
  await block.locator('button.execute').click();
  const status = block.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor();
  const body = (await block.locator('.live-responses-table .response-col_description pre').first().textContent()) ?? '';
  await block.locator('.live-responses-table').scrollIntoViewIfNeeded();
  return { status: (await status.textContent())?.trim() ?? '', body };
}

async function authorize(fill: (dialog: ReturnType<Page['locator']>) => Promise<void>, scheme: string): Promise<void> {
  await page.locator('button.authorize').first().click();
  const form = page.locator('.auth-container').filter({ hasText: scheme });
  await fill(form);
  await form.locator('button[type=submit]').click();
  await page.locator('.dialog-ux button.btn-done').first().click();
}

async function logOut(scheme: string): Promise<void> {
  await page.locator('button.authorize').first().click();
  await page.locator('.auth-container').filter({ hasText: scheme }).locator('button', { hasText: 'Logout' }).click();
  await page.locator('.dialog-ux button.btn-done').first().click();
}

it('loads from the API alone and lists every operation of the document', async () => {
  await page.goto(`${origin}/docs`);
  await page.locator('.opblock').first().waitFor();
  const shown = await page.locator('.opblock').evaluateAll((blocks) => blocks.map((block) => block.id));
  expect(shown.sort()).toEqual(operationBlocks().sort());
  expect(requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:'))).toEqual([]);
});

it('tries the list with basic auth (admin:admin): 200 and the sample data', async () => {
  await authorize(async (form) => {
    await form.locator('#auth-basic-username').fill('admin');
    await form.locator('#auth-basic-password').fill('admin');
  }, 'basicAuth');
  const { status, body } = await tryTheList();
  expect(status).toBe('200');
  expect(body).toContain('"pxcode": "039"');
  expect(body).toContain('EXTRACRANIAL PROCEDURES W/O CC/MCC');
  mkdirSync(path.dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot });
  await logOut('basicAuth');
});

it('tries the list with a bearer token: 200', async () => {
  const { token } = (await request(server).get('/auth/request-token').auth('admin', 'admin').expect(200)).body as { token: string };
  await authorize((form) => form.locator('#auth-bearer-value').fill(token), 'bearerAuth');
  const { status, body } = await tryTheList();
  expect(status).toBe('200');
  expect(body).toContain('"total": 100');
  expect(requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:'))).toEqual([]);
});
