import type { CollectionState } from './repository';

/**
 * The collection's count and version, kept in memory between writes instead of read on every
 * list request. Every write to the pxcodes, by any process or psql, notifies every API process
 * (a trigger), which drops this copy; this process drops it itself the moment its own write
 * commits, so its clients always see their own writes. Off while the notifications cannot be
 * heard: then every request reads the state from the database.
 */
export class CollectionStateCache {
  private state: CollectionState | undefined;
  private enabled = false;
  /** Bumped by every invalidation: a read that started before one is not kept. */
  private generation = 0;

  async read(load: () => Promise<CollectionState>): Promise<CollectionState> {
    if (this.state) return this.state;
    const startedIn = this.generation;
    const state = await load();
    if (this.enabled && startedIn === this.generation) this.state = state;
    return state;
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
