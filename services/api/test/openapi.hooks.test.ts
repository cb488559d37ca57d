import { createServer, type RequestListener, type Server } from 'node:http';
import { clientErrorResponse } from '../src/connections';
import { portOf } from './helpers';
import { answerCounts, fetchMismatches, notTheApi } from './openapi';
import { checkRawAnswers } from './rawAnswers';

// The hooks of openapiHook.ts and helpers.rawHttp, against a tiny server that answers as the test says.

const json = (status: number, body: unknown, headers: Record<string, string> = {}): RequestListener => (_req, res) => {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
};

const servers: Server[] = [];
afterAll(() => Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve)))));

async function serving(listener: RequestListener): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${portOf(server)}`;
}

const item = { procedure: 'A', pxcode: '039', url: 'http://localhost/api/v1.0/pxcodes/039' };
const itemHeaders = { ETag: '"a"', Vary: 'Accept' };

describe('global fetch', () => {
  test('when an API path answers as the document says, then the caller gets the answer with its body unread', async () => {
    const base = await serving(json(200, item, itemHeaders));
    const checked = answerCounts.checked.fetch;
    const res = await fetch(`${base}/api/v1.0/pxcodes/039`);
    expect(await res.json()).toEqual(item);
    expect(answerCounts.checked.fetch).toBe(checked + 1);
  });

  test('when an API path answers what the document does not say, then the fetch fails with the checker\'s message', async () => {
    const base = await serving(json(200, { ...item, extra: 1 }, itemHeaders));
    await expect(fetch(`${base}/api/v1.0/pxcodes/039`)).rejects.toThrow(
      /^The answer does not match docs\/openapi.json: GET \/api\/v1.0\/pxcodes\/039 answered 200 \(getPxcode\), not as the document says:\n {2}\(the value\) must NOT have additional properties/,
    );
    // Also kept for the hook's afterEach (for a test that swallows the rejection): taken here, as this one expects it.
    expect(fetchMismatches.splice(0)).toHaveLength(1);
  });

  test('when /metrics answers, or any path on a port named notTheApi, then it is counted elsewhere and not checked', async () => {
    const base = await serving(json(200, { anything: true }));
    const elsewhere = answerCounts.elsewhere;
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    notTheApi(Number(new URL(base).port));
    expect((await fetch(`${base}/api/v1.0/pxcodes/039`)).status).toBe(200);
    expect(answerCounts.elsewhere).toBe(elsewhere + 2);
  });
});

describe('raw HTTP (helpers.rawHttp)', () => {
  const ask = (target: string) => `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`;
  const answer = (status: string, body: string, headers = 'X-Request-Id: r\r\nContent-Type: application/json\r\n') =>
    `HTTP/1.1 ${status}\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

  test('when pipelined answers come, then each is checked against its own request, chunked ones too', () => {
    const ok = answer('200 OK', '{"status":"ok"}');
    const chunked = 'HTTP/1.1 200 OK\r\nX-Request-Id: r\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"sta\r\na\r\ntus":"ok"}\r\n0\r\n\r\n';
    expect(checkRawAnswers(1, ask('/health') + ask('/health'), ok + chunked)).toBeUndefined();
    expect(checkRawAnswers(1, ask('/health') + ask('/health'), ok + answer('200 OK', '{"status":"fine"}'))).toMatch(
      /^The answer does not match docs\/openapi.json: GET \/health answered 200 \(health\), not as the document says:\n {2}\/status must be equal to one of the allowed values/,
    );
  });

  test('when the target is in absolute form, then its path is taken as Express routes it, not normalised', () => {
    expect(checkRawAnswers(1, ask('http://x/health'), answer('418 I\'m a teapot', '{}'))).toMatch(/GET \/health answered 418/);
    expect(checkRawAnswers(1, ask('http://x/a/../health'), answer('418 I\'m a teapot', '{}'))).toBeUndefined(); // no API path
  });

  test("when node's parser refuses (no X-Request-Id), then only the error shape is checked", () => {
    const huge = `GET /health HTTP/1.1\r\nX-Big: ${'a'.repeat(100)}\r\n\r\n`;
    expect(checkRawAnswers(1, huge, clientErrorResponse('HPE_HEADER_OVERFLOW'))).toBeUndefined();
    expect(checkRawAnswers(1, 'NOT HTTP\r\n\r\n', clientErrorResponse(undefined))).toBeUndefined();
    expect(checkRawAnswers(1, huge, answer('431 Request Header Fields Too Large', '{"oops":1}', 'Content-Type: application/json\r\n'))).toMatch(
      /node's parser answered 431, not in the error shape/,
    );
  });
});
