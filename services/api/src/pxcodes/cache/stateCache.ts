import type { CollectionState } from '../repository';

const ignore = () => undefined;

/**
 * The collection's count and version as of a moment after each request arrived, with as few
 * reads of the state row as that allows. A request never joins a read that was sent before it
 * arrived (that read's snapshot could miss a write its client has already seen committed, on
 * this replica or another); it joins the next one. One read is on its way at a time and one
 * waits behind it, however many requests arrive: under load one read serves many requests, and
 * every list stays exact.
 *
 * Opt-in (CACHE_COLLECTION_STATE), the state is also kept in memory between writes. Every change
 * to the state, by any process or psql, notifies every API process (a trigger), which drops this
 * copy; this process drops it itself the moment its own write commits, so its own clients always
 * see their writes. Another process's write is seen once its notification arrives (milliseconds).
 * Off while the notifications cannot be heard. A copy is never older than `maxAgeMs`.
 */
export class CollectionStateCache {
  private state: CollectionState | undefined;
  private loadedAt = 0;
  private enabled = false;
  /** Bumped by every invalidation: a read that started before one is not kept. */
  private generation = 0;
  private inFlight: Promise<CollectionState> | undefined;
  private waiting: Promise<CollectionState> | undefined;

  constructor(
    private readonly maxAgeMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  read(load: () => Promise<CollectionState>): Promise<CollectionState> {
    if (this.state && this.now() - this.loadedAt < this.maxAgeMs) return Promise.resolve(this.state);
    if (!this.inFlight) return this.start(load);
    this.waiting ??= this.inFlight.then(ignore, ignore).then(() => {
      this.waiting = undefined;
      return this.start(load);
    });
    return this.waiting;
  }

  private start(load: () => Promise<CollectionState>): Promise<CollectionState> {
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
        if (this.inFlight === promise) this.inFlight = undefined;
      });
    this.inFlight = promise;
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
