import { CollectionStateCache } from '../src/pxcodes/cache/stateCache';
import { waitUntil } from './helpers';

describe('CollectionStateCache', () => {
  const state = (version: string) => ({ total: 1, version });

  test('when requests arrive while the row is being read, then they share the next read, never one sent before they came', async () => {
    const cache = new CollectionStateCache();
    const pending: Array<(value: ReturnType<typeof state>) => void> = [];
    const load = () => new Promise<ReturnType<typeof state>>((resolve) => pending.push(resolve));
    const first = cache.read(load);
    const later = [cache.read(load), cache.read(load), cache.read(load)];
    expect(pending).toHaveLength(1); // one read on its way, the others wait for the next
    pending[0]!(state('before'));
    expect((await first).version).toBe('before');
    await waitUntil(() => pending.length === 2);
    const latecomer = cache.read(load); // arrived while the second read is on its way
    pending[1]!(state('after'));
    expect((await Promise.all(later)).map((read) => read.version)).toEqual(['after', 'after', 'after']);
    await waitUntil(() => pending.length === 3);
    pending[2]!(state('latest'));
    expect((await latecomer).version).toBe('latest');
    expect(pending).toHaveLength(3);
  });
});
