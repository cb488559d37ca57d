import { CredentialCache } from '../src/auth/credentialCache';

const someone = (username = 'a', id = 1) => ({ id, username, tokenVersion: 'v' });

describe('the credential cache', () => {
  test('when a password and a token are spelt to meet (user "" and password "token\\0<JWT>"), then their keys differ', () => {
    const cache = new CredentialCache(60_000, 10);
    const holder = { id: 1, username: 'a', tokenVersion: 'v' };
    const token = 'header.payload.signature-of-a-token';
    cache.setToken(token, holder, cache.generation, Date.now() + 60_000);
    expect(cache.getToken(token)).toEqual(holder);
    expect(cache.lookup('', `token\0${token}`)).toBeUndefined();
    expect(cache.lookup('\0token', token)).toBeUndefined();
    // Nor can a separator move between user name and password.
    cache.set('a', 'b\0c', holder, cache.generation);
    expect(cache.get('a', 'b\0c')).toEqual(holder);
    expect(cache.get('a\0b', 'c')).toBeUndefined();
    expect(cache.getToken('a\0b\0c')).toBeUndefined();
  });

  test('when entries pass their TTL, then they are dropped', () => {
    let now = 0;
    const cache = new CredentialCache(1000, 10, () => now);
    cache.set('a', 'pw', { id: 1, username: 'a', tokenVersion: 'v' }, cache.generation);
    expect(cache.get('a', 'pw')).toEqual({ id: 1, username: 'a', tokenVersion: 'v' });
    expect(cache.get('a', 'other')).toBeUndefined();
    now = 1000;
    expect(cache.get('a', 'pw')).toBeUndefined();
  });

  test('when more credentials than the bound arrive, then the oldest are evicted', () => {
    const cache = new CredentialCache(60_000, 3);
    for (let i = 0; i < 5; i++) cache.set(`u${i}`, 'pw', { id: i, username: `u${i}`, tokenVersion: 'v' }, cache.generation);
    expect(cache.size).toBe(3);
    expect(cache.get('u0', 'pw')).toBeUndefined();
    expect(cache.get('u4', 'pw')).toEqual({ id: 4, username: 'u4', tokenVersion: 'v' });
  });

  test('when a check started before an invalidation ends after it, then its result is not cached', () => {
    const cache = new CredentialCache(60_000, 10);
    const startedIn = cache.generation; // the check reads the old hash...
    cache.invalidateUser('someone-else'); // ...a password changes meanwhile...
    cache.set('a', 'old-password', { id: 1, username: 'a', tokenVersion: 'v' }, startedIn); // ...then the check ends
    expect(cache.size).toBe(0);
    expect(cache.get('a', 'old-password')).toBeUndefined();
  });

  test('when changes went unheard during a check and are heard again before it ends, then its result is not cached', () => {
    const cache = new CredentialCache(60_000, 10);
    cache.setEnabled(false); // the listener lost its connection
    const startedIn = cache.generation; // a check reads the old hash; the password changes unheard
    cache.setEnabled(true); // the listener is back before the hash ends
    cache.set('a', 'old-password', someone(), startedIn);
    expect(cache.size).toBe(0);
    expect(cache.get('a', 'old-password')).toBeUndefined();
  });

  test('when an entry is past its TTL, then lookup still finds it, as stale, until it is evicted or invalidated', () => {
    let now = 0;
    const cache = new CredentialCache(1000, 10, () => now);
    cache.set('a', 'pw', someone(), cache.generation);
    expect(cache.lookup('a', 'pw')).toEqual({ user: someone(), fresh: true });
    now = 5000;
    expect(cache.lookup('a', 'pw')).toEqual({ user: someone(), fresh: false });
    expect(cache.get('a', 'pw')).toBeUndefined();
    cache.invalidateUser('a');
    expect(cache.lookup('a', 'pw')).toBeUndefined();
  });

  test("when a token's own expiry comes before the TTL, then its entry ends with the token", () => {
    let now = 0;
    const cache = new CredentialCache(60_000, 10, () => now);
    cache.setToken('t.o.k', someone(), cache.generation, 500);
    expect(cache.getToken('t.o.k')).toEqual(someone());
    now = 500;
    expect(cache.getToken('t.o.k')).toBeUndefined();
  });

  test("when one user is invalidated, then only that user's passwords and tokens go", () => {
    const cache = new CredentialCache(60_000, 10);
    cache.set('a', 'pw', someone('a'), cache.generation);
    cache.setToken('t.o.k', someone('a'), cache.generation, Date.now() + 60_000);
    cache.set('b', 'pw', someone('b', 2), cache.generation);
    cache.invalidateUser('a');
    expect(cache.get('a', 'pw')).toBeUndefined();
    expect(cache.getToken('t.o.k')).toBeUndefined();
    expect(cache.get('b', 'pw')).toEqual(someone('b', 2));
  });

  test('when it is disabled (changes to users cannot be heard), then it is emptied and keeps nothing until enabled again', () => {
    const cache = new CredentialCache(60_000, 10);
    cache.set('a', 'pw', someone(), cache.generation);
    cache.setEnabled(false);
    expect(cache.size).toBe(0);
    cache.set('a', 'pw', someone(), cache.generation);
    expect(cache.size).toBe(0);
    expect(cache.lookup('a', 'pw')).toBeUndefined();
    cache.setEnabled(true);
    cache.set('a', 'pw', someone(), cache.generation);
    expect(cache.get('a', 'pw')).toEqual(someone());
  });

  test('when the TTL or the bound is zero, then nothing is cached', () => {
    for (const cache of [new CredentialCache(0, 10), new CredentialCache(60_000, 0)]) {
      cache.set('a', 'pw', someone(), cache.generation);
      expect(cache.size).toBe(0);
    }
  });
});
