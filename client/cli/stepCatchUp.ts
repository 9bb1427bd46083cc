// Joins the two views of a step that was already running when we started following it: its
// stored output (complete up to the last save, about once a second) and its live output (from
// the moment we subscribed). Shows each part once: live chunks repeating the stored tail are cut,
// and live text that does not meet the stored output is held until a newer save bridges the gap.
// No I/O here: the follower feeds it and asks the server for newer saves while it `isHolding`.

/** Past this, the text shown is no longer kept to be compared (the live stream passes through). */
const MAX_KEPT = 4 * 1024 * 1024;

export type Placement = { fresh: string } | 'inside' | 'disjoint';

/**
 * Where `live` (the step's output from some point on) stands against `shown` (the step's output
 * from its start): what of it is new, or still `inside` what was shown (more must come to tell),
 * or `disjoint` (no overlap: either it starts exactly where `shown` ends, or there is a gap).
 * `fromStart`: `live` is known to begin with the step's first byte.
 */
export function placeLive(shown: string, live: string, fromStart: boolean): Placement {
  if (shown.includes(live) && !shown.endsWith(live)) return 'inside';
  // The longest head of `live` that is the tail of `shown` was shown already.
  for (let overlap = Math.min(shown.length, live.length); overlap > 0; overlap--) {
    if (shown.endsWith(live.slice(0, overlap))) return { fresh: live.slice(overlap) };
  }
  return fromStart ? { fresh: live } : 'disjoint';
}

export class StepCatchUp {
  private shown: string;
  private unplaced = '';
  private placed = false;
  private fromStart = false;
  private holding = false;
  private tracking = true;

  /** `stored`: the step's output as stored when we attached (already shown by the caller). */
  constructor(stored: string) {
    this.shown = stored;
  }

  /** The step's start came through the live stream, so its live output starts at its start. */
  sawStart(): void {
    this.fromStart = true;
  }

  /** Live text is held: ask for the stored output again, then pass it to `stored`. */
  get isHolding(): boolean {
    return this.holding;
  }

  /** A live chunk; returns the text to show now (maybe ''). */
  live(text: string): string {
    if (this.placed || !this.tracking) return this.record(text);
    this.unplaced += text;
    return this.place();
  }

  /** Newer stored output (a later save, or the final record); returns the text to show now. */
  stored(output: string): string {
    if (!this.tracking) return '';
    let text = '';
    if (output.length > this.shown.length && output.startsWith(this.shown)) {
      text = this.record(output.slice(this.shown.length));
    }
    if (!this.placed && this.unplaced !== '') text += this.place();
    return text;
  }

  private place(): string {
    const placement = placeLive(this.shown, this.unplaced, this.fromStart);
    this.holding = placement === 'disjoint';
    if (typeof placement === 'string') return '';
    this.placed = true;
    this.unplaced = '';
    return this.record(placement.fresh);
  }

  private record(text: string): string {
    if (this.tracking) {
      this.shown += text;
      if (this.shown.length > MAX_KEPT) this.tracking = false;
    }
    return text;
  }
}
