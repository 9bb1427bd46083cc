// A running step's output on its way to live subscribers: decoded as UTF-8 across chunk
// boundaries and sent at most every FLUSH_MS. A step that prints faster than MAX_TEXT per flush
// has the excess skipped in the live stream (counted in `skipped`); the stored log keeps it.
import { storedText } from '../db/storedText.js';

const FLUSH_MS = 100;
const MAX_TEXT = 4_096;

export class LiveOutput {
  private readonly decoder = new TextDecoder('utf-8');
  private text = '';
  private skipped = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly send: (text: string, skipped: number) => void) {}

  push(chunk: Buffer): void {
    this.text += storedText(this.decoder.decode(chunk, { stream: true }));
    if (this.text.length > MAX_TEXT) {
      const cut = this.text.length - MAX_TEXT;
      this.skipped += Buffer.byteLength(this.text.slice(0, cut));
      this.text = this.text.slice(cut);
    }
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Sends what is buffered; call once more when the step ends. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.text += storedText(this.decoder.decode());
    if (this.text === '' && this.skipped === 0) return;
    this.send(this.text, this.skipped);
    this.text = '';
    this.skipped = 0;
  }
}
