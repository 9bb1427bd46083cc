// The part of autocannon's programmatic API the benchmarks use (autocannon ships no types).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    interface Options {
      url: string;
      /** Concurrent connections. @default 10 */
      connections?: number;
      /** Seconds to run, unless `amount` is given. @default 10 */
      duration?: number;
      /** Requests to make in all; overrides `duration`. */
      amount?: number;
      method?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      /** Seconds before a request counts as timed out. @default 10 */
      timeout?: number;
      /** Pipelined requests per connection. @default 1 */
      pipelining?: number;
      /** Requests per second over all connections. */
      overallRate?: number;
      title?: string;
    }

    interface Histogram {
      average: number;
      mean: number;
      stddev: number;
      min: number;
      max: number;
      total: number;
      p50: number;
      p90: number;
      p99: number;
    }

    interface Result {
      url: string;
      requests: Histogram & { sent: number };
      latency: Histogram;
      /** Seconds. */
      duration: number;
      errors: number;
      timeouts: number;
      non2xx: number;
      '2xx': number;
      statusCodeStats: Record<string, { count: number }>;
      start: Date;
      finish: Date;
    }

    interface Instance extends EventEmitter {
      stop(): void;
      on(
        event: 'response',
        listener: (client: unknown, statusCode: number, resBytes: number, ms: number) => void,
      ): this;
      on(event: 'reqError', listener: (error: Error) => void): this;
      on(event: string, listener: (...args: unknown[]) => void): this;
    }
  }

  function autocannon(
    options: autocannon.Options,
    done: (error: Error | null, result: autocannon.Result) => void,
  ): autocannon.Instance;

  export = autocannon;
}
