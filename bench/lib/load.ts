// HTTP load with autocannon. Its own histograms keep whole milliseconds, too coarse for
// sub-millisecond figures, so every response's time (hrtime, fractional ms) is collected from its
// `response` event and the percentiles are computed from those raw samples.
import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  /** Seconds to run; ignored when `amount` is set. */
  durationS?: number;
  /** Requests to make in all. */
  amount?: number;
}

export interface LoadResult {
  /** Response time of every response, any status, in ms. */
  latenciesMs: number[];
  /** Response time of the 2xx responses only. */
  okLatenciesMs: number[];
  statusCounts: Record<string, number>;
  /** 2xx responses. */
  ok: number;
  /** Responses that were not 2xx. */
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  durationS: number;
  /** 2xx responses per second. */
  okPerS: number;
}

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  const okLatenciesMs: number[] = [];
  const statusCounts: Record<string, number> = {};
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        ...(options.body !== undefined ? { body: options.body } : {}),
        connections: options.connections,
        ...(options.amount !== undefined
          ? { amount: options.amount }
          : { duration: options.durationS ?? 10 }),
        timeout: 30,
      },
      (error, result) => {
        if (error) {
          reject(error);
          return;
        }
        const ok = okLatenciesMs.length;
        const non2xx = latenciesMs.length - ok;
        resolve({
          latenciesMs,
          okLatenciesMs,
          statusCounts,
          ok,
          non2xx,
          errors: result.errors,
          durationS: result.duration,
          okPerS: result.duration > 0 ? ok / result.duration : Number.NaN,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, ms) => {
      latenciesMs.push(ms);
      if (statusCode >= 200 && statusCode < 300) okLatenciesMs.push(ms);
      statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1;
    });
  });
}

/** Throws unless every response of a load was 2xx (setup loads must not silently fail). */
export function expectAllOk(result: LoadResult, what: string): void {
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(
      `${what}: ${result.non2xx} non-2xx responses and ${result.errors} errors (status counts ${JSON.stringify(result.statusCounts)})`,
    );
  }
}
