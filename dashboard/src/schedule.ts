// Many events, one reload: runs a job a short while after the last call, at most `maxWaitMs`
// after the first, and never twice at once.

export interface CoalesceOptions {
  /** Quiet time after the last call. */
  delayMs: number;
  /** Longest a call waits while calls keep coming. */
  maxWaitMs: number;
}

export function coalesce(job: () => Promise<void>, options: CoalesceOptions): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let firstCall: number | undefined;
  let running = false;
  let again = false;

  async function fire(): Promise<void> {
    timer = undefined;
    firstCall = undefined;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await job();
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  }

  function schedule(): void {
    const now = Date.now();
    firstCall ??= now;
    clearTimeout(timer);
    const wait = Math.max(0, Math.min(options.delayMs, firstCall + options.maxWaitMs - now));
    timer = setTimeout(() => void fire(), wait);
  }

  return schedule;
}
