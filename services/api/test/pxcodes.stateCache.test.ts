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

describe('CollectionStateCache when a read fails', () => {
  test('then its readers get the error, readers waiting behind it get a read of their own, and the next reader starts afresh', async () => {
    const cache = new CollectionStateCache();
    const pending: Array<{ resolve: (value: { total: number; version: string }) => void; reject: (error: Error) => void }> = [];
    const load = () => new Promise<{ total: number; version: string }>((resolve, reject) => pending.push({ resolve, reject }));
    const failing = cache.read(load);
    const waiting = cache.read(load); // arrived while the failing read was on its way
    pending[0]!.reject(new Error('database gone'));
    await expect(failing).rejects.toThrow('database gone');
    await waitUntil(() => pending.length === 2);
    pending[1]!.resolve({ total: 1, version: 'after' });
    expect((await waiting).version).toBe('after');
    const next = cache.read(load); // nothing in flight: a read of its own
    expect(pending).toHaveLength(3);
    pending[2]!.resolve({ total: 2, version: 'next' });
    expect((await next).version).toBe('next');
  });
});
