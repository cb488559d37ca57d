/** A rendered answer: the exact bytes, their ETag, and for a list page its Link header. */
export interface RenderedPage {
  body: Buffer;
  etag: string;
  link?: string;
}

/**
 * Rendered list pages (and items) of the current collection version. A page is served from here
 * only while the version it was stored under is current (see CollectionStateCache for how the
 * version is known), so no JSON is built twice.
 */
export class PageCache {
  private version: string | undefined;
  private readonly pages = new Map<string, RenderedPage>();

  constructor(private readonly maxPages = 1000) {}

  get(version: string, key: string): RenderedPage | undefined {
    return version === this.version ? this.pages.get(key) : undefined;
  }

  /**
   * Pages are kept for one version at a time. A page is served only to a request that read the
   * very version it was stored under, and its rows were read after that version: never older.
   */
  set(version: string, key: string, page: RenderedPage): void {
    if (version !== this.version) {
      this.pages.clear();
      this.version = version;
    }
    this.pages.set(key, page);
    if (this.pages.size > this.maxPages) this.pages.delete(this.pages.keys().next().value as string);
  }
}
