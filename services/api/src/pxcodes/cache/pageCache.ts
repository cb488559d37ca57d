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

  /** Keys count too: a URL can be long, and any signed-in client chooses it. */
  constructor(
    private readonly maxBytes = 16 * 1024 * 1024,
    private readonly maxPages = 20_000,
  ) {}

  /** Longer URLs are answered, never kept: no real client needs one. */
  static readonly maxKeyLength = 1024;

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
    if (key.length > PageCache.maxKeyLength) return;
    if (version !== this.version) {
      // Any other version replaces the pages, even one that looks older: a restored dump brings
      // the counter back, and the pages of the number it had must not outlive what they showed.
      this.pages.clear();
      this.bytes = 0;
      this.version = version;
    }
    this.remove(key);
    this.pages.set(key, page);
    this.bytes += sizeOf(key, page);
    // A Map iterates in insertion order: the first key is the oldest answer.
    while ((this.bytes > this.maxBytes || this.pages.size > this.maxPages) && this.pages.size > 1) {
      this.remove(this.pages.keys().next().value as string);
    }
  }

  /** Bytes held, keys included. */
  get size(): number {
    return this.bytes;
  }

  private remove(key: string): void {
    const page = this.pages.get(key);
    if (!page) return;
    this.bytes -= sizeOf(key, page);
    this.pages.delete(key);
  }
}

const sizeOf = (key: string, page: RenderedPage) => key.length * 2 + page.body.length + page.etag.length + (page.link?.length ?? 0);

