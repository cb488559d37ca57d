// Cursors are opaque to clients; versioned so their form can change without breaking old links.
export function encodeCursor(afterId: number): string {
  return Buffer.from(`v1:${afterId}`).toString('base64url');
}

const maxId = 2 ** 31 - 1;
const isId = (id: unknown): id is number => Number.isSafeInteger(id) && (id as number) >= 0 && (id as number) <= maxId;

/** The id a cursor continues after, or undefined when it is not a cursor this API gave out. */
export function decodeCursor(cursor: string): number | undefined {
  const match = /^v1:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  const afterId = match ? Number(match[1]) : undefined;
  // Ids are PostgreSQL integers: a larger one was never given out, and the query would fail on it.
  // base64url decoding skips characters outside its alphabet: only the exact form given out counts.
  return afterId !== undefined && afterId <= maxId && encodeCursor(afterId) === cursor ? afterId : undefined;
}

/** Where a sorted or filtered walk stopped: the last row's sort values, then its id if the order has it. */
export interface Keyset {
  values: string[];
  id?: number;
}

/** `digest` names the sort and filters the cursor was made for: it is refused under others. */
export function encodeKeysetCursor(digest: string, keyset: Keyset): string {
  return Buffer.from(`v2:${JSON.stringify([digest, keyset.id ?? null, ...keyset.values])}`, 'utf8').toString('base64url');
}

export function decodeKeysetCursor(cursor: string): { digest: string; keyset: Keyset } | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith('v2:')) return undefined;
  let parts: unknown;
  try {
    parts = JSON.parse(text.slice(3));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parts) || !parts.every((part, i) => (i === 1 ? part === null || isId(part) : typeof part === 'string'))) return undefined;
  const [digest, id, ...values] = parts as [string, number | null, ...string[]];
  const decoded = { digest, keyset: id === null ? { values } : { values, id } };
  return parts.length >= 2 && encodeKeysetCursor(digest, decoded.keyset) === cursor ? decoded : undefined;
}
