import { checkAnswer, checkParserAnswer } from './openapi';

/** One HTTP/1.1 message's head as sent: its first line and headers (names in lower case). */
interface Head {
  start: string;
  headers: Record<string, string>;
  /** Where its body starts in the text. */
  at: number;
}

function readHead(text: string, at: number): Head | undefined {
  const end = text.indexOf('\r\n\r\n', at);
  if (end < 0) return undefined;
  const [start = '', ...lines] = text.slice(at, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { start, headers, at: end + 4 };
}

/** A chunked body from `at`: its bytes and where the message ends (trailers skipped). */
function readChunks(text: string, at: number): { body: string; next: number } | undefined {
  let body = '';
  for (;;) {
    const lineEnd = text.indexOf('\r\n', at);
    const size = parseInt(text.slice(at, lineEnd).split(';', 1)[0]!, 16);
    if (lineEnd < 0 || Number.isNaN(size)) return undefined;
    at = lineEnd + 2;
    if (size === 0) {
      const end = text.startsWith('\r\n', at) ? at - 2 : text.indexOf('\r\n\r\n', at);
      return end < 0 ? undefined : { body, next: end + 4 };
    }
    body += text.slice(at, at + size);
    at += size + 2;
  }
}

/** The body after `head`: by Content-Length, chunked, or else `unframed` (none, or up to the close). */
function readBody(text: string, head: Head, unframed: 'none' | 'rest'): { body: string; next: number } | undefined {
  if (/chunked/i.test(head.headers['transfer-encoding'] ?? '')) return readChunks(text, head.at);
  const length = head.headers['content-length'];
  if (length === undefined) return unframed === 'none' ? { body: '', next: head.at } : { body: text.slice(head.at), next: text.length };
  const next = head.at + Number(length);
  return next > text.length ? undefined : { body: text.slice(head.at, next), next };
}

/** The method and target of each whole request in what a test wrote, up to the first that is not HTTP. */
function requestsIn(text: string): { method: string; target: string }[] {
  const requests: { method: string; target: string }[] = [];
  for (let at = 0; at < text.length; ) {
    const head = readHead(text, at);
    const line = head && /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(head.start);
    const body = head && readBody(text, head, 'none');
    if (!line || !body) break;
    requests.push({ method: line[1]!, target: line[2]! });
    at = body.next;
  }
  return requests;
}

/** The origin-form path and query of a target, not normalised (as Express routes it). */
const originForm = (target: string) => target.replace(/^[a-z][a-z\d+.-]*:\/\/[^/?#]*/i, '') || '/';

/**
 * Checks what a raw connection answered (`answers`, latin1 as read) against the document, each
 * answer against the request it answers (`requests`, as written), in order. Returns what is wrong.
 */
export function checkRawAnswers(port: number, requests: string, answers: string): string | undefined {
  const asked = requestsIn(requests);
  for (let at = 0, index = 0; at < answers.length; index++) {
    const head = readHead(answers, at);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head?.start ?? '')?.[1]);
    const request = asked[index];
    const bodyless = request?.method === 'HEAD' || status === 204 || status === 304;
    const read = head && readBody(answers, head, bodyless ? 'none' : 'rest');
    // An answer cut short (the server closed mid-way) holds nothing whole to check.
    if (!head || !status || !read) return undefined;
    const answer = { status, headers: head.headers, text: Buffer.from(read.body, 'latin1').toString('utf8') };
    // Node's parser refuses (answerClientErrors) before the request listener, which gives every
    // answer an X-Request-Id: no operation describes such a refusal, but its body is the error shape.
    const problem =
      status >= 400 && !head.headers['x-request-id']
        ? checkParserAnswer(answer)
        : request && checkAnswer('raw', request.method, `http://127.0.0.1:${port}${originForm(request.target)}`, answer);
    if (problem) return problem;
    at = read.next;
  }
  return undefined;
}
