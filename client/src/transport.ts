// The SDK's HTTP transport in Node (the package's `node` export only; browsers use fetch): undici's `request` on a keep-alive Agent of the client's own,
// with the call timeout as the Agent's header and body timeouts. Node's global fetch is the same
// undici underneath but builds a WHATWG Request, Response, body stream and timeout signal per call;
// this skips them (about 0.3–0.6 ms a call, measured in bench/suites/enqueueLatency.ts) and gives
// the SDK's call link (jsonCallLink.ts) the one thing it reads from the answer: its JSON.
import { Pool } from 'undici';
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
    const answer = await pool.request({
      path,
      method: init.method ?? 'GET',
      headers: init.headers as Record<string, string> | undefined,
      body: init.body as string | undefined,
      signal: init.signal ?? undefined,
    });
    const text = await answer.body.text();
    const response: Pick<Response, 'ok' | 'status' | 'json' | 'text'> = {
      ok: answer.statusCode >= 200 && answer.statusCode < 300,
      status: answer.statusCode,
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
