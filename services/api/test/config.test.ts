import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, refuseExposedDemoPassword } from '../src/config';

describe('loadConfig', () => {
  test('when nothing is set, then the seed defaults apply and DATABASE_URL means embedded', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 5000,
      HOST: '127.0.0.1',
      HEADERS_TIMEOUT_SECONDS: 10,
      REQUEST_TIMEOUT_SECONDS: 30,
      MAX_CONNECTIONS: 1000,
      MAX_CONNECTIONS_PER_ADDRESS: 100,
      SOCKET_IDLE_TIMEOUT_SECONDS: 60,
      LOG_LEVEL: 'info',
      TRUST_PROXY: false,
      ADMIN_USERNAME: 'admin',
      ADMIN_PASSWORD: 'admin',
      SEED_SAMPLE_DATA: true,
      AUTH_CACHE_TTL: 60,
    });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.PUBLIC_URL).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  test('when values are set, then they are parsed into their types', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u:p@db:5432/starter',
      PORT: '8080',
      PUBLIC_URL: 'https://api.example.test/',
      LOG_LEVEL: 'debug',
      TRUST_PROXY: '2',
      SEED_SAMPLE_DATA: 'false',
    });
    expect(config).toMatchObject({
      DATABASE_URL: 'postgres://u:p@db:5432/starter',
      PORT: 8080,
      PUBLIC_URL: 'https://api.example.test',
      LOG_LEVEL: 'debug',
      TRUST_PROXY: 2,
      SEED_SAMPLE_DATA: false,
    });
  });

  test.each([
    ['https://пример.рф/', 'https://xn--e1afmkfd.xn--p1ai'],
    ['https://api.example.test/base path/', 'https://api.example.test/base%20path'],
  ])('when PUBLIC_URL is %s, then links use %s (what HTTP headers can carry)', (value, expected) => {
    expect(loadConfig({ PUBLIC_URL: value }).PUBLIC_URL).toBe(expected);
  });

  test.each([
    ['true', true],
    ['false', false],
    ['loopback, 10.0.0.0/8', ['loopback', '10.0.0.0/8']],
  ])('when TRUST_PROXY is %s, then Express gets %j', (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).TRUST_PROXY).toEqual(expected);
  });

  test('when a variable is empty, then it counts as unset', () => {
    const config = loadConfig({ PUBLIC_URL: '', PORT: '' });
    expect(config.PORT).toBe(5000);
    expect(config.PUBLIC_URL).toBeUndefined();
  });

  test.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL: expected a postgres:// URL'],
    [{ PUBLIC_URL: 'not a url' }, 'PUBLIC_URL'],
    [{ PUBLIC_URL: 'ftp://x' }, 'PUBLIC_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ SEED_SAMPLE_DATA: 'maybe' }, 'SEED_SAMPLE_DATA: expected true or false'],
    [{ MAX_CONNECTIONS_PER_ADDRESS: '0' }, 'MAX_CONNECTIONS_PER_ADDRESS'],
    [{ SOCKET_IDLE_TIMEOUT_SECONDS: 'soon' }, 'SOCKET_IDLE_TIMEOUT_SECONDS'],
  ])('when %j, then the error names the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });

  test.each([
    [{ ADMIN_USERNAME: '\uff21\uff24\uff2d\uff29\uff2e' }, "ADMIN_USERNAME: must not contain compatibility characters such as full-width letters: write 'ADMIN'"],
    [{ ADMIN_USERNAME: 'ad\u200bmin' }, 'ADMIN_USERNAME: must not contain invisible format characters'],
    [{ ADMIN_USERNAME: 'ad:min' }, 'ADMIN_USERNAME: must not contain ":"'],
    [{ ADMIN_USERNAME: '\u0958'.repeat(60) }, 'ADMIN_USERNAME: must be at most 100 characters (in NFC)'],
    [{ ADMIN_PASSWORD: 'pass\tword' }, 'ADMIN_PASSWORD: must not contain control characters'],
  ])('when the admin the seed creates breaks the rules of adduser (%j), then the error names the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  test('when ADMIN_USERNAME is in NFD, then it is taken in NFC, as adduser stores it', () => {
    expect(loadConfig({ ADMIN_USERNAME: 'cafe\u0301' }).ADMIN_USERNAME).toBe('caf\u00e9');
  });

  test('when the per-name failure budget is lower than the per-address one, then the error names both (0 turns either off)', () => {
    const env = { AUTH_FAILURES_PER_MINUTE: '20', AUTH_FAILURES_PER_NAME_PER_MINUTE: '10' };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow('AUTH_FAILURES_PER_NAME_PER_MINUTE: 10 is lower than AUTH_FAILURES_PER_MINUTE (20): it must be at least as large');
    expect(() => loadConfig({ AUTH_FAILURES_PER_NAME_PER_MINUTE: '5' })).toThrow('lower than AUTH_FAILURES_PER_MINUTE (10)');
    expect(loadConfig({ AUTH_FAILURES_PER_MINUTE: '20', AUTH_FAILURES_PER_NAME_PER_MINUTE: '20' }).AUTH_FAILURES_PER_NAME_PER_MINUTE).toBe(20);
    expect(loadConfig({ AUTH_FAILURES_PER_MINUTE: '20', AUTH_FAILURES_PER_NAME_PER_MINUTE: '0' }).AUTH_FAILURES_PER_NAME_PER_MINUTE).toBe(0);
    expect(loadConfig({ AUTH_FAILURES_PER_MINUTE: '0', AUTH_FAILURES_PER_NAME_PER_MINUTE: '5' }).AUTH_FAILURES_PER_MINUTE).toBe(0);
  });

  test('when several are wrong, then all are named at once', () => {
    expect(() => loadConfig({ PORT: 'x', LOG_LEVEL: 'y' })).toThrow(/PORT: .*; LOG_LEVEL: /);
  });

  test('when a secret comes from a _FILE, then it is read from there', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'starter-config-'));
    writeFileSync(path.join(dir, 'password'), 's3cret\n');
    expect(loadConfig({ ADMIN_PASSWORD_FILE: path.join(dir, 'password') }).ADMIN_PASSWORD).toBe('s3cret');
    expect(() => loadConfig({ ADMIN_PASSWORD_FILE: path.join(dir, 'missing') })).toThrow(/ADMIN_PASSWORD_FILE: cannot read/);
    expect(() => loadConfig({ ADMIN_PASSWORD: 'x', ADMIN_PASSWORD_FILE: path.join(dir, 'password') })).toThrow(
      'ADMIN_PASSWORD and ADMIN_PASSWORD_FILE are both set',
    );
  });

  test.each([
    [{}, undefined],
    [{ HOST: '127.0.0.2' }, undefined],
    [{ HOST: 'localhost' }, undefined],
    [{ HOST: '::1' }, undefined],
    [{ HOST: '0.0.0.0', PUBLISHED_ADDRESS: '127.0.0.1' }, undefined],
    [{ HOST: '0.0.0.0', ADMIN_PASSWORD: 'changed' }, undefined],
    [{ HOST: '0.0.0.0' }, /^ADMIN_PASSWORD is the demo default "admin" while HOST is 0\.0\.0\.0/],
    [{ HOST: '10.1.2.3' }, /while HOST is 10\.1\.2\.3/],
    [{ HOST: '127.0.0.1', PUBLISHED_ADDRESS: '::' }, /while PUBLISHED_ADDRESS \(the stack's API_BIND\) is ::.*or API_BIND to 127\.0\.0\.1/],
  ])('when %j, then serve is refused only if the demo password is reachable from elsewhere', (env, refusal) => {
    const check = () => refuseExposedDemoPassword(loadConfig(env));
    if (refusal) expect(check).toThrow(refusal);
    else expect(check).not.toThrow();
  });

  test('when the request timeout is shorter than the headers timeout, then the error names REQUEST_TIMEOUT_SECONDS', () => {
    expect(() => loadConfig({ HEADERS_TIMEOUT_SECONDS: '40' })).toThrow('REQUEST_TIMEOUT_SECONDS: must be at least HEADERS_TIMEOUT_SECONDS');
  });
});
