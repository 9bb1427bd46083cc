// The SDK's HTTP transport in Node (the package's `node` export only; browsers use fetch): undici's `request` on a keep-alive Agent of the client's own,
// with the call timeout as the Agent's header and body timeouts. Node's global fetch is the same
// undici underneath but builds a WHATWG Request, Response, body stream and timeout signal per call;
// this skips them (about 0.3–0.6 ms a call, measured in bench/suites/enqueueLatency.ts) and gives
// the SDK's call link (jsonCallLink.ts) the one thing it reads from the answer: its JSON.
import { Agent, request } from 'undici';
import type { FetchLike } from './queueClient.js';

export function createTransport(timeoutMs: number): FetchLike {
  const agent = new Agent({
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: Math.min(timeoutMs, 10_000),
  });
  return async (url, init = {}) => {
    const target = typeof url === 'string' ? url : url instanceof URL ? url.href : url.url;
    const answer = await request(target, {
      dispatcher: agent,
      method: (init.method ?? 'GET') as 'GET',
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
