import type { CollectionState } from '../repository';

const ignore = () => undefined;

/**
 * The collection's count and version as of a moment after each request arrived. A request never
 * joins a read sent before it arrived (its snapshot could miss a write already seen committed);
 * it joins the next one. One read on its way, one waiting: under load one read serves many.
 */
export class CollectionStateCache {
  private inFlight: Promise<CollectionState> | undefined;
  private waiting: Promise<CollectionState> | undefined;

  read(load: () => Promise<CollectionState>): Promise<CollectionState> {
    if (!this.inFlight) return this.start(load);
    this.waiting ??= this.inFlight.then(ignore, ignore).then(() => {
      this.waiting = undefined;
      return this.start(load);
    });
    return this.waiting;
  }

  private start(load: () => Promise<CollectionState>): Promise<CollectionState> {
    const promise: Promise<CollectionState> = load().finally(() => {
      if (this.inFlight === promise) this.inFlight = undefined;
    });
    this.inFlight = promise;
    return promise;
  }
}
