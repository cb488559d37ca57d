import { appendFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { answerCounts, checkAnswer, covers, fetchMismatches, type Answer } from './openapi';

// Jest runs this before every suite (setupFilesAfterEnv): every answer a suite receives through
// supertest, global fetch or helpers.rawHttp (rawAnswers.ts) is checked against the OpenAPI
// document before the suite's own expectations, and a mismatch fails with the checker's message.
// docs/testing.md says more.

type Finish = (error: Error | null, res?: Answer) => void;
interface SupertestTest {
  method: string;
  url: string;
  assert(resError: unknown, res: Answer | undefined, fn?: Finish): void;
}

const prototype = (request as unknown as { Test: { prototype: SupertestTest } }).Test.prototype;
const assert = prototype.assert;

prototype.assert = function (this: SupertestTest, resError, res, fn) {
  const problem = res && checkAnswer('supertest', this.method, this.url, res);
  if (problem) return fn?.call(this, new Error(problem), res);
  assert.call(this, resError, res, fn);
};

/** A fetched answer as the checker takes it; the body read from a clone, so the caller still has it. */
async function fetchedAnswer(method: string, url: string, response: Response): Promise<Answer> {
  const answer = { status: response.status, headers: Object.fromEntries(response.headers.entries()) };
  // CSV's schema is any string: reading it would only hold a whole export a second time.
  const streamed = /^text\/csv/i.test(answer.headers['content-type'] ?? '');
  if (!covers(url) || method === 'HEAD' || streamed) return { ...answer, unread: true };
  try {
    return { ...answer, text: await response.clone().text() };
  } catch {
    return { ...answer, unread: true }; // a body cut short: the caller's own read fails as well
  }
}

const realFetch = globalThis.fetch;
globalThis.fetch = async function checkedFetch(input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> {
  const response = await realFetch(input, init);
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  const url = response.url || String(input instanceof Request ? input.url : input);
  const problem = checkAnswer('fetch', method, url, await fetchedAnswer(method, url, response));
  if (!problem) return response;
  fetchMismatches.push(problem);
  throw new Error(problem);
};

// A test may swallow a rejected fetch (`.catch(() => 0)` while it waits): its mismatch still fails it.
afterEach(() => {
  const problems = fetchMismatches.splice(0);
  if (problems.length) throw new Error(`Answers to fetch not as docs/openapi.json says (each rejected its fetch too):\n${problems.join('\n')}`);
});

// OPENAPI_CHECK_LOG=file: one line per suite with how many answers were checked, by way.
afterAll(() => {
  const log = process.env.OPENAPI_CHECK_LOG;
  const { checked, failed, elsewhere } = answerCounts;
  const ways = Object.entries(checked).filter(([, n]) => n > 0);
  const total = ways.reduce((sum, [, n]) => sum + n, 0);
  const line = `${total} checked (${ways.map(([via, n]) => `${via} ${n}`).join(', ') || 'none'}), ${failed} mismatched, ${elsewhere} not the API's (not checked)`;
  if (log) appendFileSync(log, `${path.basename(expect.getState().testPath ?? '?')} ${line}\n`);
});
