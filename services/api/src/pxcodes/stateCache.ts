import type { CollectionState } from './repository';

/**
 * The collection's count and version, kept in memory between writes instead of read on every
 * list request (opt-in: CACHE_COLLECTION_STATE). Every change to the collection's state, by any
 * process or psql, notifies every API process (a trigger), which drops this copy; this process
 * drops it itself the moment its own write commits, so its own clients always see their writes.
 * Another process's write is seen once its notification arrives (milliseconds). Off while the
 * notifications cannot be heard: then every request reads the state from the database. A copy is
 * also never older than `maxAgeMs`, whatever happens to the notifications.
 */
export class CollectionStateCache {
  private state: CollectionState | undefined;
  private loadedAt = 0;
  private enabled = false;
  /** Bumped by every invalidation: a read that started before one is not kept. */
  private generation = 0;
  /** One read of the row at a time for all the requests that need it. */
  private loading: { generation: number; promise: Promise<CollectionState> } | undefined;

  constructor(
    private readonly maxAgeMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  async read(load: () => Promise<CollectionState>): Promise<CollectionState> {
    if (this.state && this.now() - this.loadedAt < this.maxAgeMs) return this.state;
    if (this.loading?.generation === this.generation) return this.loading.promise;
    const startedIn = this.generation;
    const startedAt = this.now();
    const promise: Promise<CollectionState> = load()
      .then((state) => {
        if (this.enabled && startedIn === this.generation) {
          this.state = state;
          this.loadedAt = startedAt;
        }
        return state;
      })
      .finally(() => {
        if (this.loading?.promise === promise) this.loading = undefined;
      });
    this.loading = { generation: startedIn, promise };
    return promise;
  }

  invalidate(): void {
    this.generation++;
    this.state = undefined;
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    this.invalidate();
  }
}
