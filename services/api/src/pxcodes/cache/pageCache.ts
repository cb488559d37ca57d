export interface RenderedPage {
  body: Buffer;
  etag: string;
  link?: string;
}

/** Each answer is served only while the version it was stored under is current. */
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

  has(key: string): boolean {
    return this.pages.has(key);
  }

  /** One version at a time: `page`'s rows must have been read after `version` was. */
  set(version: string, key: string, page: RenderedPage): void {
    if (key.length > PageCache.maxKeyLength) return;
    if (version !== this.version) {
      // Even an older-looking version replaces them: a restored dump brings the counter back.
      this.pages.clear();
      this.bytes = 0;
      this.version = version;
    }
    this.remove(key);
    this.pages.set(key, page);
    this.bytes += sizeOf(key, page);
    while ((this.bytes > this.maxBytes || this.pages.size > this.maxPages) && this.pages.size > 1) {
      this.remove(this.pages.keys().next().value as string);
    }
  }

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

