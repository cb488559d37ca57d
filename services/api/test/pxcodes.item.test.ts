import request from 'supertest';
import { addTestUser, buildTestApp, createTestDatabase, expectError, newItem, uniqueCode, user, userAuth as auth, type TestDatabase } from './helpers';

let database: TestDatabase;
let app: ReturnType<typeof buildTestApp>['app'];
const origin = 'http://localhost:5000';

beforeAll(async () => {
  database = await createTestDatabase();
  await addTestUser(database.db);
  ({ app } = buildTestApp(database.db, { publicUrl: origin, bodyLimit: '1kb' }));
});

afterAll(() => database.drop());

const api = () => request(app);
async function created(procedure?: string): Promise<string> {
  const item = newItem(procedure);
  const res = await api().post('/api/v1.0/pxcodes/').auth(...auth).send(item);
  expect(res.status).toBe(201);
  return item.pxcode;
}
const itemUrl = (pxcode: string) => `${origin}/api/v1.0/pxcodes/${pxcode}`;

describe('POST /api/v1.0/pxcodes/', () => {
  test('when the body is valid, then 201 with the item and its absolute Location', async () => {
    const pxcode = uniqueCode();
    const res = await api().post('/api/v1.0/pxcodes/').auth(...auth).send({ pxcode, procedure: '  HEART TRANSPLANT  ' });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(itemUrl(pxcode));
    expect(res.body).toEqual({ procedure: 'HEART TRANSPLANT', pxcode, url: itemUrl(pxcode) });
    const read = await api().get(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth);
    expect(read.body).toEqual(res.body);
  });

  test('when posted without the trailing slash, then it is created the same way', async () => {
    const res = await api().post('/api/v1.0/pxcodes').auth(...auth).send(newItem('X'));
    expect(res.status).toBe(201);
  });

  test('when the code exists, then 409 names it', async () => {
    const pxcode = await created();
    const res = await api().post('/api/v1.0/pxcodes/').auth(...auth).send({ pxcode, procedure: 'AGAIN' });
    expectError(res, 409, 'Conflict', `pxcode '${pxcode}' already exists`);
  });

  test('when two clients post the same new code at once, then one gets 201 and the other 409', async () => {
    const pxcode = uniqueCode();
    const post = () => api().post('/api/v1.0/pxcodes/').auth(...auth).send({ pxcode, procedure: 'RACE' });
    const statuses = (await Promise.all([post(), post(), post()])).map((res) => res.status).sort();
    expect(statuses).toEqual([201, 409, 409]);
  });

  test.each([
    [{}, 'pxcode: is required; procedure: is required'],
    [{ pxcode: 'A1' }, 'procedure: is required'],
    [{ procedure: 'X' }, 'pxcode: is required'],
    [{ pxcode: 39, procedure: 'X' }, 'pxcode: must be a string'],
    [{ pxcode: '', procedure: 'X' }, 'pxcode: must be 1 to 10 letters, digits, dots, dashes or underscores'],
    [{ pxcode: 'ELEVENCHARS', procedure: 'X' }, 'pxcode: must be 1 to 10 letters, digits, dots, dashes or underscores'],
    [{ pxcode: 'a/b', procedure: 'X' }, 'pxcode: must be 1 to 10 letters, digits, dots, dashes or underscores'],
    [{ pxcode: 'A1', procedure: '   ' }, 'procedure: must not be empty'],
    [{ pxcode: 'A1', procedure: null }, 'procedure: must be a string'],
    [{ pxcode: 'A1', procedure: 'x'.repeat(256) }, 'procedure: must be at most 255 characters'],
    [{ pxcode: 'A1', procedure: 'X', extra: 1 }, 'body: unknown field "extra"'],
    [['A1', 'X'], 'body: must be a JSON object'],
  ])('when the body is %j, then 400 names each field', async (body, message) => {
    const res = await api().post('/api/v1.0/pxcodes/').auth(...auth).send(body as object);
    expectError(res, 400, 'Bad Request', message);
  });

  test('when there is no body at all, then 400 says a JSON object is required', async () => {
    const res = await api().post('/api/v1.0/pxcodes/').auth(...auth);
    expectError(res, 400, 'Bad Request', 'body: a JSON object is required');
  });

  test('when the JSON is malformed, then 400 in the JSON error shape', async () => {
    const res = await api()
      .post('/api/v1.0/pxcodes/')
      .auth(...auth)
      .set('Content-Type', 'application/json')
      .send('{"pxcode": "A1", ');
    expectError(res, 400, 'Bad Request', 'the request body is not valid JSON');
  });

  test('when the body is not JSON, then 415', async () => {
    const res = await api()
      .post('/api/v1.0/pxcodes/')
      .auth(...auth)
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('pxcode=A1&procedure=X');
    expectError(res, 415, 'Unsupported Media Type', "Content-Type must be application/json, not 'application/x-www-form-urlencoded'");
  });

  test('when the body is larger than the limit, then 413', async () => {
    const res = await api()
      .post('/api/v1.0/pxcodes/')
      .auth(...auth)
      .send({ pxcode: 'BIG', procedure: 'x'.repeat(2000) });
    expectError(res, 413, 'Payload Too Large', 'the request body is too large');
  });
});

describe('GET /api/v1.0/pxcodes/:pxcode', () => {
  test('when the code exists, then the item with a strong ETag', async () => {
    const pxcode = await created('KIDNEY TRANSPLANT');
    const res = await api().get(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ procedure: 'KIDNEY TRANSPLANT', pxcode, url: itemUrl(pxcode) });
    expect(res.headers.etag).toMatch(/^"[^"]+"$/);
  });

  test('when the code is unknown, then 404 in the JSON error shape (the seed crashed here)', async () => {
    const res = await api().get('/api/v1.0/pxcodes/NOPE').auth(...auth);
    expectError(res, 404, 'Not Found', "pxcode 'NOPE' was not found");
  });

  test('when the code is longer than any code can be, then 404 too', async () => {
    const res = await api().get(`/api/v1.0/pxcodes/${'9'.repeat(50)}`).auth(...auth);
    expect(res.status).toBe(404);
  });

  test('when If-None-Match holds the current ETag, then 304', async () => {
    const pxcode = await created();
    const first = await api().get(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth);
    const again = await api()
      .get(`/api/v1.0/pxcodes/${pxcode}`)
      .auth(...auth)
      .set('If-None-Match', first.headers.etag as string);
    expect(again.status).toBe(304);
  });

  test('when HEAD is used, then the headers of GET without a body', async () => {
    const pxcode = await created();
    const res = await api().head(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth);
    expect(res.status).toBe(200);
    expect(res.headers.etag).toMatch(/^"/);
    expect(res.text).toBeUndefined();
  });
});

describe('PUT /api/v1.0/pxcodes/:pxcode', () => {
  test('when replacing, then 200 with the new item', async () => {
    const pxcode = await created('OLD');
    const res = await api().put(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).send({ pxcode, procedure: 'NEW' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ procedure: 'NEW', pxcode, url: itemUrl(pxcode) });
    const read = await api().get(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth);
    expect(read.body.procedure).toBe('NEW');
  });

  test('when the body leaves out pxcode, then the URL names it', async () => {
    const pxcode = await created('OLD');
    const res = await api().put(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).send({ procedure: 'NEWER' });
    expect(res.status).toBe(200);
    expect(res.body.procedure).toBe('NEWER');
  });

  test('when procedure is missing, then 400 (PUT replaces the whole item)', async () => {
    const pxcode = await created();
    const res = await api().put(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).send({ pxcode });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('procedure: is required');
  });

  test('when the body names another pxcode, then 400 explains that codes are not renamed', async () => {
    const pxcode = await created();
    const res = await api().put(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).send({ pxcode: 'OTHER', procedure: 'X' });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe(
      `pxcode: must match the URL ('${pxcode}'); to rename, create the new code and delete the old`,
    );
  });

  test('when the code is unknown, then 404', async () => {
    const res = await api().put('/api/v1.0/pxcodes/NOPE').auth(...auth).send({ procedure: 'X' });
    expect(res.status).toBe(404);
    expect(res.body.message).toBe("pxcode 'NOPE' was not found");
  });

  test('when If-Match holds the current ETag, then the update goes through', async () => {
    const pxcode = await created('V1');
    const read = await api().get(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth);
    const res = await api()
      .put(`/api/v1.0/pxcodes/${pxcode}`)
      .auth(...auth)
      .set('If-Match', read.headers.etag as string)
      .send({ procedure: 'V2' });
    expect(res.status).toBe(200);
    expect(res.headers.etag).not.toBe(read.headers.etag);
  });

  test('when another client changed the item since it was read, then 412 and nothing is lost', async () => {
    const pxcode = await created('V1');
    const read = await api().get(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth);
    const etag = read.headers.etag as string;
    const first = await api().put(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).set('If-Match', etag).send({ procedure: 'FIRST' });
    const second = await api().put(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).set('If-Match', etag).send({ procedure: 'SECOND' });
    expect(first.status).toBe(200);
    expectError(second, 412, 'Precondition Failed', `pxcode '${pxcode}' has changed since it was read (If-Match); GET it again`);
    const now = await api().get(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth);
    expect(now.body.procedure).toBe('FIRST');
  });

  test('when two clients update with the same ETag at once, then exactly one wins', async () => {
    const pxcode = await created('V1');
    const etag = (await api().get(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth)).headers.etag as string;
    const put = (procedure: string) =>
      api().put(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).set('If-Match', etag).send({ procedure });
    const results = await Promise.all([put('A'), put('B'), put('C')]);
    expect(results.map((res) => res.status).sort()).toEqual([200, 412, 412]);
    const winner = results.find((res) => res.status === 200)!.body.procedure;
    expect((await api().get(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth)).body.procedure).toBe(winner);
  });

  test('when If-Match is a weak or unknown tag, then 412; when it is *, then it passes', async () => {
    const pxcode = await created('V1');
    const etag = (await api().get(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth)).headers.etag as string;
    const put = (ifMatch: string) =>
      api().put(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).set('If-Match', ifMatch).send({ procedure: 'V1' });
    expect((await put(`W/${etag}`)).status).toBe(412);
    expect((await put('"nope"')).status).toBe(412);
    expect((await put(`"nope", ${etag}`)).status).toBe(200);
    expect((await put('*')).status).toBe(200);
  });
});

describe('PATCH /api/v1.0/pxcodes/:pxcode', () => {
  test('when patching procedure, then only it changes', async () => {
    const pxcode = await created('BEFORE');
    const res = await api()
      .patch(`/api/v1.0/pxcodes/${pxcode}`)
      .auth(...auth)
      .set('Content-Type', 'application/merge-patch+json')
      .send(JSON.stringify({ procedure: 'AFTER' }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ procedure: 'AFTER', pxcode, url: itemUrl(pxcode) });
  });

  test('when the patch is empty, then the item is answered unchanged', async () => {
    const pxcode = await created('SAME');
    const res = await api().patch(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).send({});
    expect(res.status).toBe(200);
    expect(res.body.procedure).toBe('SAME');
  });

  test('when a field is invalid or unknown, then 400 names it', async () => {
    const pxcode = await created();
    const bad = await api().patch(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).send({ procedure: '' });
    expect(bad.body).toEqual({ status: 400, error: 'Bad Request', message: 'procedure: must not be empty' });
    const unknown = await api().patch(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).send({ title: 'X' });
    expect(unknown.body.message).toBe('body: unknown field "title"');
  });

  test('when the code is unknown, then 404; when the ETag is stale, then 412', async () => {
    expect((await api().patch('/api/v1.0/pxcodes/NOPE').auth(...auth).send({ procedure: 'X' })).status).toBe(404);
    const pxcode = await created();
    const res = await api().patch(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).set('If-Match', '"stale"').send({ procedure: 'X' });
    expect(res.status).toBe(412);
  });
});

describe('DELETE /api/v1.0/pxcodes/:pxcode', () => {
  test('when the code exists, then 204 and it is gone', async () => {
    const pxcode = await created();
    const res = await api().delete(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect((await api().get(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth)).status).toBe(404);
  });

  test('when the code is unknown, then 404', async () => {
    const res = await api().delete('/api/v1.0/pxcodes/NOPE').auth(...auth);
    expect(res.status).toBe(404);
    expect(res.body.message).toBe("pxcode 'NOPE' was not found");
  });

  test('when If-Match is stale, then 412 and the item stays', async () => {
    const pxcode = await created();
    const res = await api().delete(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).set('If-Match', '"stale"');
    expect(res.status).toBe(412);
    expect((await api().get(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth)).status).toBe(200);
  });

  test('when If-Match is current, then 204', async () => {
    const pxcode = await created();
    const etag = (await api().get(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth)).headers.etag as string;
    expect((await api().delete(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).set('If-Match', etag)).status).toBe(204);
  });
});

describe('hostile and odd input', () => {
  test.each([
    ['%FF', 400, 'the URL has invalid percent-encoding'],
    ['%C0%AF', 400, 'the URL has invalid percent-encoding'],
    ['%00', 404, "pxcode '\u0000' was not found"],
    ['a%20b', 404, "pxcode 'a b' was not found"],
  ])('when the code in the path is %s, then %i in the JSON shape', async (path, status, message) => {
    for (const method of ['get', 'delete'] as const) {
      const res = await api()[method](`/api/v1.0/pxcodes/${path}`).auth(...auth);
      expect(res.status).toBe(status);
      expect(res.body).toEqual({ status, error: status === 400 ? 'Bad Request' : 'Not Found', message });
    }
  });

  test('when procedure holds a NUL, then 400 names the field', async () => {
    const res = await api().post('/api/v1.0/pxcodes/').auth(...auth).send({ pxcode: 'NUL1', procedure: 'a\u0000b' });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('procedure: must not contain NUL characters');
  });

  const surrogate = 'must be valid Unicode (it holds a lone UTF-16 surrogate)';
  const controls = 'must not contain control characters other than tab, line feed and carriage return';
  const bidi = 'must not contain bidirectional overrides or isolates (U+202A to U+202E, U+2066 to U+2069)';
  test.each([
    ['{"pxcode":"S1","procedure":"HEART \\ud83e"}', `procedure: ${surrogate}`],
    ['{"pxcode":"S2","procedure":"\\udc00 LUNG"}', `procedure: ${surrogate}`],
    ['{"pxcode":"\\ud83e","procedure":"X"}', 'pxcode: must be 1 to 10 letters, digits, dots, dashes or underscores'],
    ['{"pxcode":"S3","procedure":"A\\u000bB"}', `procedure: ${controls}`],
    ['{"pxcode":"S4","procedure":"\\u001b[31mRED"}', `procedure: ${controls}`],
    ['{"pxcode":"S5","procedure":"A\\u007fB"}', `procedure: ${controls}`],
    ['{"pxcode":"S6","procedure":"A\\u0085B"}', `procedure: ${controls}`],
    ['{"pxcode":"S7","procedure":"A\\u009bB"}', `procedure: ${controls}`],
    ['{"pxcode":"S8","procedure":"TXE \\u202eLAICOS"}', `procedure: ${bidi}`],
    ['{"pxcode":"S9","procedure":"A \\u2066B\\u2069"}', `procedure: ${bidi}`],
    ['{"pxcode":"S10","procedure":"\\u000bEDGE\\u000c"}', `procedure: ${controls}`],
    ['{"pxcode":"S11","procedure":" \\u0085EDGE\\u001f\\t"}', `procedure: ${controls}`],
  ])('when the JSON is %s, then 400 names the field and nothing is stored', async (json, message) => {
    const before = await database.db('starter_pxcodes').count('* as n').first();
    const res = await api().post('/api/v1.0/pxcodes/').auth(...auth).set('Content-Type', 'application/json').send(json);
    expectError(res, 400, 'Bad Request', message);
    expect(await database.db('starter_pxcodes').count('* as n').first()).toEqual(before);
  });

  test('when PUT or PATCH carries a lone surrogate or a control, then 400 and the item is as it was', async () => {
    const pxcode = await created('AS IT WAS');
    const put = await api().put(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).set('Content-Type', 'application/json').send('{"procedure":"X \\ud83e"}');
    expect(put.status).toBe(400);
    expect(put.body.message).toBe(`procedure: ${surrogate}`);
    const patch = await api().patch(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).send({ procedure: 'X \u001b' });
    expect(patch.status).toBe(400);
    expect(patch.body.message).toBe(`procedure: ${controls}`);
    expect((await api().get(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth)).body.procedure).toBe('AS IT WAS');
  });

  test('when text holds tab, line breaks or any other Unicode, then it is stored exactly as sent', async () => {
    const pxcode = uniqueCode();
    const procedure = 'CAFÉ\tBYPASS\r\nSTAGE 2 🫀 \u200d ÅNGSTRÖM';
    const res = await api().post('/api/v1.0/pxcodes/').auth(...auth).send({ pxcode, procedure });
    expect(res.status).toBe(201);
    expect(await database.db('starter_pxcodes').where({ pxcode }).first('procedure')).toEqual({ procedure });
  });

  test('when text has other white space at its edges, then only spaces, tabs and line breaks are trimmed; the rest is stored as sent', async () => {
    const trimmed = await api().post('/api/v1.0/pxcodes/').auth(...auth).send(newItem(' \t\r\nEDGE\r\n\t '));
    expect(trimmed.body.procedure).toBe('EDGE');
    const pxcode = uniqueCode();
    const procedure = '\u00a0\ufeffEDGE\u2028\u2029\u3000';
    const res = await api().post('/api/v1.0/pxcodes/').auth(...auth).send({ pxcode, procedure: ` ${procedure} ` });
    expect(res.status).toBe(201);
    expect(await database.db('starter_pxcodes').where({ pxcode }).first('procedure')).toEqual({ procedure });
  });

  test.each([
    ['a Latin-1 byte', Buffer.from('{"pxcode":"U1","procedure":"CAF\xe9"}', 'latin1')],
    ['an overlong sequence', Buffer.concat([Buffer.from('{"pxcode":"U2","procedure":"A'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')])],
    ['an encoded surrogate', Buffer.concat([Buffer.from('{"pxcode":"U3","procedure":"A'), Buffer.from([0xed, 0xa0, 0xbd]), Buffer.from('"}')])],
    ['a truncated sequence', Buffer.concat([Buffer.from('{"pxcode":"U4","procedure":"A'), Buffer.from([0xf0, 0x9f, 0xab]), Buffer.from('"}')])],
  ])('when the body has %s (not UTF-8), then 400 and nothing is stored', async (_what, bytes) => {
    const before = await database.db('starter_pxcodes').count('* as n').first();
    const res = await api()
      .post('/api/v1.0/pxcodes/')
      .auth(...auth)
      .set('Content-Type', 'application/json; charset=utf-8')
      .serialize((body: Buffer) => body as unknown as string) // the bytes as they are, not a Buffer's JSON
      .send(bytes);
    expectError(res, 400, 'Bad Request', 'the request body is not valid UTF-8');
    expect(await database.db('starter_pxcodes').count('* as n').first()).toEqual(before);
  });

  const utf32le = (before: string, codePoint: number, after: string) => {
    const units = [...before].map((c) => c.codePointAt(0)!).concat(codePoint, [...after].map((c) => c.codePointAt(0)!));
    const bytes = Buffer.alloc(units.length * 4);
    units.forEach((unit, i) => bytes.writeUInt32LE(unit, i * 4));
    return bytes;
  };
  // RFC 8259 8.1: JSON between systems is UTF-8. Any other charset is refused, even one that would
  // decode: UTF-32 turns a code point above U+10FFFF into U+FFFD, UTF-7 reads letters as escapes.
  test.each([
    ['utf-16', Buffer.from('{"pxcode":"W1","procedure":"X"}', 'utf16le')],
    ['UTF-16LE', Buffer.from('{"pxcode":"W2","procedure":"X"}', 'utf16le')],
    ['utf-32le', utf32le('{"pxcode":"W3","procedure":"', 0x110000, '"}')],
    ['utf-7', Buffer.from('{"pxcode":"W4","procedure":"A+AGE-"}')],
    ['latin1', Buffer.from('{"pxcode":"W5","procedure":"CAF\xe9"}', 'latin1')],
  ])('when the body declares charset=%s, then 415 names the charset and nothing is stored', async (charset, bytes) => {
    const before = await database.db('starter_pxcodes').count('* as n').first();
    const res = await api()
      .post('/api/v1.0/pxcodes/')
      .auth(...auth)
      .set('Content-Type', `application/json; charset=${charset}`)
      .serialize((body: Buffer) => body as unknown as string) // the bytes as they are, not a Buffer's JSON
      .send(bytes);
    expectError(res, 415, 'Unsupported Media Type', `charset '${charset.toLowerCase()}' is not supported: send the JSON body as UTF-8`);
    expect(await database.db('starter_pxcodes').count('* as n').first()).toEqual(before);
  });

  test('when the charset is UTF-8 in any case or not given, then the body is read', async () => {
    for (const contentType of ['application/json; charset=UTF-8', 'application/json;charset="utf-8"', 'application/json']) {
      const res = await api().post('/api/v1.0/pxcodes/').auth(...auth).set('Content-Type', contentType).send(JSON.stringify(newItem('CAFÉ')));
      expect(res.status).toBe(201);
    }
  });

  test.each([['null'], ['"text"'], ['42']])('when the JSON body is %s, then 400 says it must be an object', async (json) => {
    const res = await api().post('/api/v1.0/pxcodes/').auth(...auth).set('Content-Type', 'application/json').send(json);
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('body: must be a JSON object');
  });

  test('when the Host header is not a host, then 400 and nothing of it is echoed into links', async () => {
    const { app: plain } = buildTestApp(database.db);
    const res = await request(plain)
      .get('/api/v1.0/pxcodes/')
      .auth(...auth)
      .set('Host', 'evil>; rel="next", <http://x');
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('the Host header is not a valid host[:port]');
    expect(res.headers.link).toBeUndefined();
  });

  test('when the same item is read under two host names, then its ETag is the same and If-Match works', async () => {
    const pxcode = await created('ONE NAME');
    const { app: plain } = buildTestApp(database.db);
    const viaA = await request(plain).get(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).set('Host', '127.0.0.1:5000');
    const viaB = await request(plain).get(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).set('Host', 'localhost:5000');
    expect(viaA.body.url).not.toBe(viaB.body.url);
    expect(viaA.headers.etag).toBe(viaB.headers.etag);
    const res = await request(plain)
      .patch(`/api/v1.0/pxcodes/${pxcode}`)
      .auth(...auth)
      .set('Host', 'localhost:5000')
      .set('If-Match', viaA.headers.etag as string)
      .send({ procedure: 'CHANGED' });
    expect(res.status).toBe(200);
    expect(res.headers.etag).not.toBe(viaA.headers.etag);
  });

  test('when an error is answered, then it carries no ETag', async () => {
    const pxcode = await created();
    const res = await api().put(`/api/v1.0/pxcodes/${pxcode}`).auth(...auth).set('If-Match', '"stale"').send({ procedure: 'X' });
    expect(res.status).toBe(412);
    expect(res.headers.etag).toBeUndefined();
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  test('when per_page is absurdly large, then it is still capped; an absurd page is 400', async () => {
    const capped = await api().get(`/api/v1.0/pxcodes/?per_page=${'9'.repeat(40)}`).auth(...auth);
    expect(capped.status).toBe(200);
    expect(capped.body.meta.per_page).toBe(100);
    const page = await api().get(`/api/v1.0/pxcodes/?page=${'9'.repeat(40)}`).auth(...auth);
    expect(page.status).toBe(400);
    expect(page.body.message).toBe('page: must be at most 9007199254740991');
  });
});

describe('methods a route does not have', () => {
  test.each([
    ['/api/v1.0/pxcodes/', 'GET, HEAD, POST, OPTIONS'],
    ['/api/v1.0/pxcodes/039', 'GET, HEAD, PUT, PATCH, DELETE, OPTIONS'],
  ])('when OPTIONS %s, then 204 with Allow', async (path, allow) => {
    const res = await api().options(path).auth(...auth);
    expect(res.status).toBe(204);
    expect(res.headers.allow).toBe(allow);
  });

  test.each([['/health'], ['/ready']])('when POST %s, then 405 with Allow', async (path) => {
    const res = await api().post(path);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, OPTIONS');
  });

  test.each([
    ['delete', '/api/v1.0/pxcodes/', 'GET, HEAD, POST'],
    ['put', '/api/v1.0/pxcodes', 'GET, HEAD, POST'],
    ['post', '/api/v1.0/pxcodes/039', 'GET, HEAD, PUT, PATCH, DELETE'],
  ] as const)('when %s %s, then 405 with Allow', async (method, path, allow) => {
    const res = await api()[method](path).auth(...auth);
    expectError(res, 405, 'Method Not Allowed', `${method.toUpperCase()} is not allowed here; use ${allow}`);
    expect(res.headers.allow).toBe(`${allow}, OPTIONS`);
  });
});

describe('a write refused for its Host changes nothing', () => {
  const refusedHosts = ['localhost:5000@evil.example', 'host/x?y=', 'host.', 'a'.repeat(4096), '%65vil'];
  const rows = () => database.db('starter_pxcodes').orderBy('id').select('id', 'pxcode', 'procedure');
  const writes = [
    ['POST', (code: string) => request(buildTestApp(database.db).app).post('/api/v1.0/pxcodes/').send({ pxcode: `${code}N`, procedure: 'NEW' })],
    ['PUT', (code: string) => request(buildTestApp(database.db).app).put(`/api/v1.0/pxcodes/${code}`).send({ procedure: 'REPLACED' })],
    ['PATCH', (code: string) => request(buildTestApp(database.db).app).patch(`/api/v1.0/pxcodes/${code}`).send({ procedure: 'PATCHED' })],
    ['DELETE', (code: string) => request(buildTestApp(database.db).app).delete(`/api/v1.0/pxcodes/${code}`)],
  ] as const;

  test.each(writes.flatMap(([method, write]) => refusedHosts.map((host) => [method, host.length > 40 ? `${host.slice(0, 8)}... (${host.length} chars)` : host, host, write] as const)))(
    'when %s with Host %s, then 400 and the table is as before',
    async (_method, _shown, host, write) => {
      const pxcode = uniqueCode().slice(0, 9);
      await database.db('starter_pxcodes').insert({ pxcode, procedure: 'AS BEFORE' });
      const before = await rows();
      const res = await write(pxcode).auth(...auth).set('Host', host);
      expectError(res, 400, 'Bad Request', 'the Host header is not a valid host[:port]');
      expect(await rows()).toEqual(before);
      expect(await database.db('starter_pxcodes').where({ pxcode }).first('procedure')).toEqual({ procedure: 'AS BEFORE' });
      expect(await database.db('starter_pxcodes').where({ pxcode: `${pxcode}N` }).first('id')).toBeUndefined();
    },
  );
});

describe('credentials before the body', () => {
  test.each([
    ['malformed JSON', '{"pxcode": ', 400, 'the request body is not valid JSON'],
    ['a body over the limit', JSON.stringify({ pxcode: 'BIG', procedure: 'x'.repeat(2000) }), 413, 'the request body is too large'],
  ])('when the body is %s, then a stranger gets 401 and a signed-in client %i', async (_what, body, status, message) => {
    const stranger = await api().post('/api/v1.0/pxcodes/').set('Content-Type', 'application/json').send(body);
    expect(stranger.status).toBe(401);
    const wrong = await api().post('/api/v1.0/pxcodes/').auth(user.username, 'wrong').set('Content-Type', 'application/json').send(body);
    expect(wrong.status).toBe(401);
    const signedIn = await api().post('/api/v1.0/pxcodes/').auth(...auth).set('Content-Type', 'application/json').send(body);
    expect(signedIn.status).toBe(status);
    expect(signedIn.body.message).toBe(message);
  });
});
