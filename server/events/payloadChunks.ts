// JSON arrays cut to a size in bytes: NOTIFY payloads (and the items inside them) must stay under
// PostgreSQL's limit, measured in bytes, not characters.

/**
 * `head` + comma-separated `pieces` + `]}`, in as many strings as keep each within `limit` bytes
 * (a piece larger than that on its own still goes alone), in order.
 */
export function joinWithin(head: string, pieces: Iterable<string>, limit: number): string[] {
  const joined: string[] = [];
  const empty = Buffer.byteLength(head) + 2;
  let body: string[] = [];
  let size = empty;
  for (const piece of pieces) {
    const bytes = Buffer.byteLength(piece) + 1;
    if (size + bytes > limit && body.length > 0) {
      joined.push(`${head}${body.join(',')}]}`);
      body = [];
      size = empty;
    }
    body.push(piece);
    size += bytes;
  }
  if (body.length > 0) joined.push(`${head}${body.join(',')}]}`);
  return joined;
}
