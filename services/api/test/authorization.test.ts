import { controlCharacterRefusal, credentialsOf, parseAuthorization, tokenOf } from '../src/auth/authorization';
import { basic } from './helpers';

const jwtLike = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0ZXIifQ.c2lnbmF0dXJl';

describe('parseAuthorization', () => {
  test.each([
    [undefined, 'absent'],
    ['Digest x', 'absent'],
    ['Basic', 'malformed'],
    ['Bearer', 'malformed'],
    ['Bearer a b', 'malformed'],
    ['Bearer abc.def-_.g~+/=', { scheme: 'bearer', token: 'abc.def-_.g~+/=' }],
    [`basic ${Buffer.from('a:b').toString('base64')}`, { scheme: 'basic', username: 'a', password: 'b' }],
    [`Basic ${Buffer.from('a:').toString('base64')}`, { scheme: 'basic', username: 'a', password: '' }],
    [`Basic ${Buffer.from(':b').toString('base64')}`, { scheme: 'basic', username: '', password: 'b' }],
    [`Basic ${Buffer.from('a:b:c').toString('base64')}`, { scheme: 'basic', username: 'a', password: 'b:c' }],
  ])('when the header is %s, then %j', (header, expected) => {
    expect(parseAuthorization(header)).toEqual(expected);
  });
});

describe('tokenOf', () => {
  test('when the header is Bearer, then its token', () => {
    expect(tokenOf(parseAuthorization('Bearer abc'))).toBe('abc');
  });

  test('when a JWT comes as the basic user name with an empty password (as the seed sends it), then it is a token', () => {
    expect(tokenOf(parseAuthorization(basic(`${jwtLike}:`)))).toBe(jwtLike);
  });

  test('when the user name looks like a JWT but a password is sent, or the name is short, then it is no token', () => {
    expect(tokenOf(parseAuthorization(basic(`${jwtLike}:pw`)))).toBeUndefined();
    expect(tokenOf(parseAuthorization(basic('a.b.c:')))).toBeUndefined();
    expect(tokenOf('absent')).toBeUndefined();
  });
});

describe('credentialsOf', () => {
  test('when no credentials are sent, then 401 with the Basic challenge', () => {
    expect(credentialsOf('absent')).toEqual({ status: 401, message: 'authentication required', challenge: 'Basic realm="starter", charset="UTF-8"' });
  });

  test('when the header is malformed, then 400', () => {
    expect(credentialsOf('malformed')).toMatchObject({ status: 400, message: 'the Authorization header is not valid Basic or Bearer credentials' });
  });

  test('when the header is Bearer, or a seed-style token, then a token, remembering which', () => {
    expect(credentialsOf(parseAuthorization('Bearer abc'))).toEqual({ kind: 'token', token: 'abc', bearer: true });
    expect(credentialsOf(parseAuthorization(basic(`${jwtLike}:`)))).toEqual({ kind: 'token', token: jwtLike, bearer: false });
  });

  test('when the header is Basic with a password, then a password', () => {
    expect(credentialsOf(parseAuthorization(basic('a:b:c')))).toEqual({ kind: 'password', username: 'a', password: 'b:c' });
  });
});

describe('controlCharacterRefusal', () => {
  test.each([['\0'], ['\t'], ['\u001b'], ['\u007f'], ['\u0085'], ['\u009f']])('when %j is in the user name or the password, then 400 naming which', (control) => {
    expect(controlCharacterRefusal(`a${control}`, 'pw')).toMatchObject({ status: 400, message: expect.stringContaining('user name') });
    expect(controlCharacterRefusal('a', `p${control}w`)).toMatchObject({ status: 400, message: expect.stringContaining('password') });
  });

  test('when both are printable (any script, spaces, colons), then nothing is refused', () => {
    expect(controlCharacterRefusal('mañana', 'correct horse: battery \u00a0staple')).toBeUndefined();
  });
});
