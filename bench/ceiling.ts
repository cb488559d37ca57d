// The ceiling: a bare node:http server that answers every request with the exact bytes (status,
// content headers, body) the API returned for the scenario's request. Nothing real is faster.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

interface Recorded {
  status: number;
  headers: Record<string, string>;
  body: string; // base64
}

const recorded = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Recorded;
const body = Buffer.from(recorded.body, 'base64');
const server = createServer((req, res) => {
  req.resume();
  res.writeHead(recorded.status, { ...recorded.headers, 'content-length': String(body.length) });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
