import { createHash } from 'node:crypto';

/**
 * A strong entity tag from the stored fields alone, not from the links in the representation, so
 * clients that reach the API under different host names agree on it (If-Match works for all).
 */
export function etagOf(fields: readonly unknown[]): string {
  return etagOfBytes(JSON.stringify(fields));
}

/** A strong entity tag for exact bytes. */
export function etagOfBytes(bytes: string | Buffer): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
}

/**
 * RFC 9110 section 13.1.1: If-Match passes when a listed entity tag matches the current one by
 * strong comparison, or is `*` and the resource exists. No header: no precondition.
 */
export function ifMatchPasses(header: string | undefined, currentEtag: string): boolean {
  if (header === undefined) return true;
  const trimmed = header.trim();
  if (trimmed === '*') return true;
  return trimmed
    .split(',')
    .map((tag) => tag.trim())
    .some((tag) => !tag.startsWith('W/') && tag === currentEtag);
}
