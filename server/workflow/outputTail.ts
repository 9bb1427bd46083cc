// Keeps the last `limit` bytes of a step's output: a step that prints gigabytes costs the queue
// a bounded amount of memory, and what is kept is the end, where the error usually is. Invalid
// UTF-8 becomes U+FFFD here; NUL is left to the writers (see storedText.ts).

/** The longest last line kept for an error message. */
const MAX_LINE = 1_000;

export class OutputTail {
  private chunks: Buffer[] = [];
  private kept = 0;
  /** Every byte written, kept or not. */
  total = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    this.chunks.push(chunk);
    this.kept += chunk.length;
    while (this.kept > this.limit && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      const excess = this.kept - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.kept -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.kept -= excess;
      }
    }
  }

  get truncated(): boolean {
    return this.total > this.kept;
  }

  /** The kept bytes as text; a character cut in half at the start is dropped. */
  text(): string {
    const text = Buffer.concat(this.chunks).toString('utf8');
    return this.truncated ? text.replace(/^\uFFFD+/, '') : text;
  }

  /** The last non-empty line, its end kept when it is very long. */
  lastLine(): string {
    const text = this.text().trimEnd();
    const line = text.slice(text.lastIndexOf('\n') + 1).trim();
    return line.length > MAX_LINE ? `…${line.slice(-MAX_LINE)}` : line;
  }
}
