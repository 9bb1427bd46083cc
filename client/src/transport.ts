// The SDK's HTTP transport in Node (the package's `node` export only; browsers use fetch): undici's
// dispatch on a keep-alive Pool of the client's own, with the call timeout as the Pool's header
// and body timeouts. Node's global fetch is the same undici underneath but builds a WHATWG
// Request, Response, body stream and timeout signal per call; this skips them (about 0.3–0.6 ms a
// call, measured in bench/suites/enqueueLatency.ts) and gives the SDK's call link
// (jsonCaller.ts) the one thing it reads from the answer: its JSON.
import { errors, Pool, type Dispatcher } from 'undici';
import type { FetchLike } from './queueClient.js';

export function createTransport(timeoutMs: number): FetchLike {
  const options: Pool.Options = {
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: Math.min(timeoutMs, 10_000),
  };
  // One pool per origin (a client talks to one server): a request on a Pool skips the URL
  // parsing and dispatcher lookup of undici's request(url) on an Agent, ~0.15 ms of CPU a call.
  const pools = new Map<string, Pool>();
  return async (url, init = {}) => {
    const target = typeof url === 'string' ? url : url instanceof URL ? url.href : url.url;
    const { origin, path } = splitUrl(target);
    let pool = pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, options);
      pools.set(origin, pool);
    }
    const answer = await exchange(
      pool,
      {
        path,
        method: init.method ?? 'GET',
        headers: init.headers as Record<string, string> | undefined,
        body: init.body as string | undefined,
      },
      init.signal ?? undefined,
    );
    const { status, text } = answer;
    const response: Pick<Response, 'ok' | 'status' | 'json' | 'text'> = {
      ok: status >= 200 && status < 300,
      status,
      json: () => Promise.resolve(JSON.parse(text) as unknown),
      text: () => Promise.resolve(text),
    };
    return response as Response;
  };
}

const PLAIN_URL = /^(https?:\/\/[^/?#@]+)([/?][^#]*)?(?:#.*)?$/i;

/** `http://host:port` and `/path?query` of a URL: by a regular expression for a plain one. */
export function splitUrl(target: string): { origin: string; path: string } {
  const plain = PLAIN_URL.exec(target);
  const origin = plain?.[1];
  if (origin === undefined) {
    const parsed = new URL(target);
    return { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
  }
  const rest = plain?.[2] ?? '';
  return { origin, path: rest.startsWith('/') ? rest : `/${rest}` };
}

/**
 * One request on the pool, its answer collected as text. undici's dispatch with a handler of
 * our own: its request() wraps every answer in a Readable stream, ~60 µs of CPU a call here.
 * The pool's header and body timeouts apply as for request(); a caller's signal aborts the call
 * with the signal's reason, as request() does.
 */
function exchange(
  pool: Pool,
  request: Dispatcher.DispatchOptions,
  signal: AbortSignal | undefined,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const reason = (): Error =>
      (signal?.reason as Error | undefined) ?? new errors.RequestAbortedError();
    if (signal?.aborted) {
      reject(reason());
      return;
    }
    let status = 0;
    const chunks: Buffer[] = [];
    let abort: ((error: Error) => void) | undefined;
    const onAbort = (): void => abort?.(reason());
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => signal?.removeEventListener('abort', onAbort);
    pool.dispatch(request, {
      onConnect(abortRequest: (error: Error) => void) {
        abort = abortRequest;
        if (signal?.aborted) abortRequest(reason());
      },
      onHeaders(statusCode: number) {
        status = statusCode;
        return true;
      },
      onData(chunk: Buffer) {
        chunks.push(chunk);
        return true;
      },
      onComplete() {
        settle();
        resolve({ status, text: Buffer.concat(chunks).toString('utf8') });
      },
      onError(error: Error) {
        settle();
        reject(error);
      },
    });
  });
}
