// A timer that runs an async job every `ms` and skips a beat while `maxInFlight` runs are still
// going, so a slow database never piles up calls. Unref'd: it never keeps the process alive.
export function repeatEvery(ms: number, fn: () => unknown, maxInFlight = 1): NodeJS.Timeout {
  let inFlight = 0;
  const timer = setInterval(() => {
    if (inFlight >= maxInFlight) return;
    inFlight += 1;
    void Promise.resolve(fn()).finally(() => (inFlight -= 1));
  }, ms);
  timer.unref();
  return timer;
}
