/** A rendered answer: the exact bytes, their ETag, and for a list page its Link header. */
export interface RenderedPage {
  body: Buffer;
  etag: string;
  link?: string;
}

/**
 * Rendered answers (list pages and items) of the current collection version, by the request's
 * base URL and its URL as sent, so that the same request is answered with the same bytes without
 * parsing, querying or building JSON again. An answer is served from here only while the version
 * it was stored under is current (see CollectionStateCache for how the version is known).
 */
export class PageCache {
  private version: string | undefined;
  private readonly pages = new Map<string, RenderedPage>();
  private bytes = 0;

  constructor(private readonly maxBytes = 16 * 1024 * 1024) {}

  static key(baseUrl: string, url: string): string {
    return `${baseUrl} ${url}`;
  }

  get(version: string, key: string): RenderedPage | undefined {
    return version === this.version ? this.pages.get(key) : undefined;
  }

  /** Whether an answer is kept for this key under the latest version stored (no version read needed to say no). */
  has(key: string): boolean {
    return this.pages.has(key);
  }

  /**
   * Pages are kept for one version at a time. A page is served only to a request that read the
   * very version it was stored under, and its rows were read after that version: never older.
   */
  set(version: string, key: string, page: RenderedPage): void {
    if (version !== this.version) {
      this.pages.clear();
      this.bytes = 0;
      this.version = version;
    }
    this.remove(key);
    this.pages.set(key, page);
    this.bytes += page.body.length;
    // A Map iterates in insertion order: the first key is the oldest answer.
    while (this.bytes > this.maxBytes && this.pages.size > 1) this.remove(this.pages.keys().next().value as string);
  }

  private remove(key: string): void {
    const page = this.pages.get(key);
    if (!page) return;
    this.bytes -= page.body.length;
    this.pages.delete(key);
  }
}
