// Turns a push subscription into an async iterable that ends when the signal aborts: what tRPC
// subscriptions and the SSE route consume.
export function iterate<T>(
  subscribe: (push: (value: T) => void) => () => void,
  signal: AbortSignal | undefined,
): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const buffer: T[] = [];
      let wake: (() => void) | undefined;
      let done = signal?.aborted ?? false;
      const unsubscribe = subscribe((value) => {
        buffer.push(value);
        wake?.();
      });
      const finish = () => {
        done = true;
        unsubscribe();
        wake?.();
      };
      signal?.addEventListener('abort', finish, { once: true });
      return {
        async next(): Promise<IteratorResult<T>> {
          while (buffer.length === 0 && !done) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
          }
          if (buffer.length > 0) return { value: buffer.shift()!, done: false };
          return { value: undefined, done: true };
        },
        return(): Promise<IteratorResult<T>> {
          signal?.removeEventListener('abort', finish);
          finish();
          return Promise.resolve({ value: undefined, done: true });
        },
      };
    },
  };
}
