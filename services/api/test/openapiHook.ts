import { appendFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { ResponseChecker, type Answer } from './openapi';

// Jest runs this before every suite (setupFilesAfterEnv): every answer a suite receives through
// supertest is checked against the OpenAPI document before the suite's own expectations, and a
// mismatch fails the request with the checker's message. docs/testing.md says more.

type Finish = (error: Error | null, res?: Answer) => void;
interface SupertestTest {
  method: string;
  url: string;
  assert(resError: unknown, res: Answer | undefined, fn?: Finish): void;
}

const checker = new ResponseChecker();
const counts = { checked: 0, failed: 0, elsewhere: 0 };
const prototype = (request as unknown as { Test: { prototype: SupertestTest } }).Test.prototype;
const assert = prototype.assert;

prototype.assert = function (this: SupertestTest, resError, res, fn) {
  if (res && !checker.covers(this.url)) counts.elsewhere += 1;
  else if (res) {
    counts.checked += 1;
    const problem = checker.check(this.method, this.url, res);
    if (problem) {
      counts.failed += 1;
      fn?.call(this, new Error(`The answer does not match docs/openapi.json: ${problem}`), res);
      return;
    }
  }
  assert.call(this, resError, res, fn);
};

// OPENAPI_CHECK_LOG=file: one line per suite with how many answers were checked.
afterAll(() => {
  const log = process.env.OPENAPI_CHECK_LOG;
  if (log) appendFileSync(log, `${path.basename(expect.getState().testPath ?? '?')} ${counts.checked} checked, ${counts.failed} mismatched, ${counts.elsewhere} from a test's own routes (not checked)\n`);
});
