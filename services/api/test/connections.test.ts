import { createServer, type RequestListener, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { answerClientErrors, limitConnections, type ConnectionLimits } from '../src/connections';
import { rawHttp, waitUntil } from './helpers';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const hello: RequestListener = (_req, res) => res.end('hello');

/** A server as serve() makes one, on a port of its own. */
async function listening(limits: Partial<ConnectionLimits>, app: RequestListener = hello, options = {}): Promise<{ server: Server; port: number }> {
  const server = createServer(options, app);
  limitConnections(server, { max: 1000, perAddress: 100, idleTimeoutMs: 60_000, trustProxy: false, ...limits });
  answerClientErrors(server);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}

/** An open connection from a given local address; resolves once the server has accepted it or cut it. */
async function open(port: number, localAddress = '127.0.0.1'): Promise<{ socket: Socket; closed: () => boolean }> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  let closed = false;
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  await new Promise((resolve) => socket.once('connect', resolve));
  await new Promise((resolve) => setTimeout(resolve, 50));
  return { socket, closed: () => closed };
}

const answers = (port: number, localAddress = '127.0.0.1') =>
  new Promise<string>((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  });

describe('connections per address', () => {
  test('when one address holds MAX_CONNECTIONS_PER_ADDRESS connections, then its next one is cut while another address is served', async () => {
    const { port } = await listening({ perAddress: 3 });
    const held = await Promise.all([1, 2, 3].map(() => open(port)));
    const extra = await open(port);
    await waitUntil(() => extra.closed());
    expect(held.some(({ closed }) => closed())).toBe(false);
    expect(await answers(port, '127.0.0.2')).toContain('hello');
    // A connection given back makes room again.
    held[0]!.socket.destroy();
    await waitUntil(async () => (await answers(port).catch(() => '')).includes('hello'));
    for (const { socket } of held) socket.destroy();
  });

  test.each([
    ['loopback', ['loopback']],
    ['a trusted address', ['127.0.0.1']],
    ['true', true],
    ['a hop count', 1],
  ])('when the address is a trusted proxy (TRUST_PROXY %s), then it is not capped', async (_name, trustProxy) => {
    const { port } = await listening({ perAddress: 2, trustProxy });
    const held = await Promise.all([1, 2, 3, 4].map(() => open(port)));
    expect(held.some(({ closed }) => closed())).toBe(false);
    expect(await answers(port)).toContain('hello');
    for (const { socket } of held) socket.destroy();
  });

  test('when only another address is trusted, then this one is still capped', async () => {
    const { port } = await listening({ perAddress: 1, trustProxy: ['10.0.0.1'] });
    const first = await open(port);
    const second = await open(port);
    await waitUntil(() => second.closed());
    expect(first.closed()).toBe(false);
    first.socket.destroy();
  });
});

describe('idle connections', () => {
  test('when a client never reads a large answer, then the server cuts it after SOCKET_IDLE_TIMEOUT_SECONDS', async () => {
    const big = Buffer.alloc(64 * 1024 * 1024, 'x');
    const { server, port } = await listening({ idleTimeoutMs: 500 }, (_req, res) => res.end(big));
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.pause();
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const count = () => new Promise<number>((resolve) => server.getConnections((_error, n) => resolve(n)));
    await waitUntil(async () => (await count()) === 1);
    const started = Date.now();
    await waitUntil(async () => (await count()) === 0, 5000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    socket.destroy();
  });

  test('when a client reads its answer, then it gets all of it', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 'x');
    const { port } = await listening({ idleTimeoutMs: 500 }, (_req, res) => res.end(big));
    const text = await answers(port);
    expect(text.length).toBeGreaterThan(big.length);
  });
});

describe("Node's own answers (clientError)", () => {
  const chunkedPost = (extension: string) =>
    `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;${extension}\r\nx\r\n0\r\n\r\n`;

  test.each([
    ['a request line that is not HTTP', 'NOT HTTP AT ALL\r\n\r\n', 400, 'Bad Request'],
    ['headers over 16 KB', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'Request Header Fields Too Large'],
    ['chunk extensions over 16 KB', chunkedPost('a'.repeat(20_000)), 413, 'Payload Too Large'],
  ])('when %s arrives, then the answer is JSON {status, error, message} with nosniff', async (_name, text, status, error) => {
    const { port } = await listening({}, (req) => req.resume());
    const answer = await rawHttp(port, text);
    expectJsonError(answer, status, error);
  });

  test('when the headers do not arrive in time, then 408 in the same shape', async () => {
    const { port } = await listening({}, hello, { headersTimeout: 300, requestTimeout: 600, connectionsCheckingInterval: 50 });
    expectJsonError(await rawHttp(port, 'GET / HTTP/1.1\r\nHost: x\r\n'), 408, 'Request Timeout');
  });

  function expectJsonError(answer: string, status: number, error: string): void {
    const [head, body] = answer.split('\r\n\r\n');
    expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} ${error}\\r\\n`));
    expect(head).toContain('Content-Type: application/json; charset=utf-8');
    expect(head).toContain('X-Content-Type-Options: nosniff');
    expect(head).toContain('Connection: close');
    expect(head).toContain(`Content-Length: ${Buffer.byteLength(body ?? '')}`);
    expect(JSON.parse(body ?? '')).toEqual({ status, error, message: expect.any(String) });
  }
});
