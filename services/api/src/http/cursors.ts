// Cursors are opaque to clients; versioned so their form can change without breaking old links.
export function encodeCursor(afterId: number): string {
  return Buffer.from(`v1:${afterId}`).toString('base64url');
}

const maxId = 2 ** 31 - 1;

/** The id a cursor continues after, or undefined when it is not a cursor this API gave out. */
export function decodeCursor(cursor: string): number | undefined {
  const match = /^v1:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  const afterId = match ? Number(match[1]) : undefined;
  // Ids are PostgreSQL integers: a larger one was never given out, and the query would fail on it.
  // base64url decoding skips characters outside its alphabet: only the exact form given out counts.
  return afterId !== undefined && afterId <= maxId && encodeCursor(afterId) === cursor ? afterId : undefined;
}
