import { PageCache } from '../src/pxcodes/cache/pageCache';

const page = (bytes: number) => ({ body: Buffer.alloc(bytes), etag: '"e"' });

describe('PageCache', () => {
  test('when clients send many long URLs, then the keys count against the budget and the cache stays within it', () => {
    const cache = new PageCache(100_000);
    for (let i = 0; i < 1000; i++) cache.set('e:1', `${i}?${'x'.repeat(1000)}`, page(10));
    expect(cache.size).toBeLessThanOrEqual(100_000);
    expect(cache.size).toBeGreaterThan(90_000);
    expect(cache.get('e:1', `999?${'x'.repeat(1000)}`)).toBeDefined(); // the newest stay
    expect(cache.get('e:1', `0?${'x'.repeat(1000)}`)).toBeUndefined();
  });

  test('when the version goes back (a restored dump), then the pages of the later number are gone before it comes round again', () => {
    const cache = new PageCache();
    cache.set('e:10', 'page', page(1));
    cache.set('e:4', 'other', page(2)); // the first answer after the restore
    expect(cache.get('e:10', 'page')).toBeUndefined();
    expect(cache.get('e:4', 'other')).toBeDefined();
  });

  test('when asked at another version than the one stored, then nothing is served, though has() still says a page is kept', () => {
    const cache = new PageCache();
    const kept = page(3);
    cache.set('e:1', 'page', kept);
    expect(cache.get('e:1', 'page')).toBe(kept);
    expect(cache.get('e:2', 'page')).toBeUndefined();
    expect(cache.has('page')).toBe(true);
    expect(cache.has('other')).toBe(false);
  });

  test('when a key is longer than maxKeyLength, then the page is not kept', () => {
    const cache = new PageCache();
    const long = 'k'.repeat(PageCache.maxKeyLength + 1);
    cache.set('e:1', long, page(1));
    expect(cache.has(long)).toBe(false);
    expect(cache.size).toBe(0);
  });

  test('when more pages come than maxPages, then the oldest go first', () => {
    const cache = new PageCache(1024 * 1024, 3);
    for (const key of ['a', 'b', 'c', 'd']) cache.set('e:1', key, page(1));
    expect(['a', 'b', 'c', 'd'].map((key) => cache.has(key))).toEqual([false, true, true, true]);
  });

  test('when a key is stored again, then it replaces its page and the size counts it once', () => {
    const cache = new PageCache();
    cache.set('e:1', 'page', page(10));
    const once = cache.size;
    cache.set('e:1', 'page', page(10));
    expect(cache.size).toBe(once);
    expect(PageCache.key('http://h:1', '/x?y=1')).toBe('http://h:1 /x?y=1');
  });
});
