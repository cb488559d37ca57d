import { createHash } from 'node:crypto';

/** From the stored fields, not the links: clients that use different host names agree on it. */
export function etagOf(fields: readonly unknown[]): string {
  return etagOfBytes(JSON.stringify(fields));
}

/** A strong entity tag for exact bytes. */
export function etagOfBytes(bytes: string | Buffer): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
}

/** RFC 9110 13.1.1: strong comparison, or `*` (the item exists); no header, no precondition. */
export function ifMatchPasses(header: string | undefined, currentEtag: string): boolean {
  if (header === undefined) return true;
  const trimmed = header.trim();
  if (trimmed === '*') return true;
  return trimmed
    .split(',')
    .map((tag) => tag.trim())
    .some((tag) => !tag.startsWith('W/') && tag === currentEtag);
}
