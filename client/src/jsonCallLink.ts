// The SDK's terminating link for queries and mutations under Node: one HTTP request per call, the
// same requests and the same results and errors as tRPC's httpLink (a test sends every kind of
// call through both), for a fraction of its work. httpLink builds two AbortControllers, races
// their signals and copies its options with Babel-style object spreads at four levels for every
// call; with a JSON-only transport and no transformer, none of that is needed. Calls carry the
// caller's signal, if any, to the transport; the transport's own timeouts bound the rest.
// Subscriptions, FormData and binary inputs are not sent here (the SDK has none of the latter two).
import { TRPCClientError, type Operation, type TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import { transformResult } from '@trpc/server/unstable-core-do-not-import';
import type { FetchLike } from './queueClient.js';

export interface JsonCallLinkOptions {
  /** The tRPC endpoint, e.g. `http://localhost:8081/trpc`. */
  url: string;
  headers: () => Record<string, string>;
  fetch: FetchLike;
}

/** What httpLink reports of an answer, as `context` and an error's `meta`. */
type CallMeta = { response?: Response; responseJSON?: unknown };

/** The server's router has no transformer: data travel as plain JSON both ways. */
const PLAIN = { serialize: (value: unknown) => value, deserialize: (value: unknown) => value };

export function jsonCallLink<TRouter extends AnyRouter>(
  options: JsonCallLinkOptions,
): TRPCLink<TRouter> {
  const base = options.url.replace(/\/$/, '');
  return () =>
    ({ op }) =>
      observable((observer) => {
        if (op.type === 'subscription') {
          throw new Error('jsonCallLink sends queries and mutations; subscriptions go elsewhere');
        }
        const meta: CallMeta = {};
        send(base, op, options, meta).then(
          (json) => {
            let transformed: ReturnType<typeof transformResult>;
            try {
              transformed = transformResult(json as never, PLAIN);
            } catch (cause) {
              observer.error(TRPCClientError.from(cause as Error, { meta }));
              return;
            }
            if (!transformed.ok) {
              observer.error(TRPCClientError.from(transformed.error, { meta }));
              return;
            }
            observer.next({ context: meta, result: transformed.result });
            observer.complete();
          },
          // As httpLink: a request that failed (unreachable, not JSON) has no meta.
          (cause: unknown) =>
            observer.error(TRPCClientError.from(cause as Error, { meta: undefined })),
        );
      });
}

/**
 * A caller's signal as httpLink hands it on: a signal of its own that aborts, with a plain
 * AbortError, when the caller's does. Only calls that carry a signal pay for it.
 */
function plainAbort(signal: AbortSignal | null | undefined): AbortSignal | undefined {
  if (!signal) return undefined;
  const controller = new AbortController();
  if (signal.aborted) controller.abort();
  else signal.addEventListener('abort', () => controller.abort(), { once: true });
  return controller.signal;
}

/** The call as httpLink sends it: a query by GET with `?input=`, a mutation by POST with JSON. */
async function send(
  base: string,
  op: Operation,
  options: JsonCallLinkOptions,
  meta: CallMeta,
): Promise<unknown> {
  const query = op.type === 'query';
  const headers = query
    ? options.headers()
    : Object.assign({ 'content-type': 'application/json' }, options.headers());
  let url = `${base}/${op.path}`;
  let body: string | undefined;
  if (op.input !== undefined) {
    const json = JSON.stringify(op.input);
    if (query) url += `?input=${encodeURIComponent(json)}`;
    else body = json;
  }
  const init: RequestInit = { method: query ? 'GET' : 'POST', headers, body };
  const signal = plainAbort(op.signal);
  if (signal) init.signal = signal;
  const response = await options.fetch(url, init);
  meta.response = response;
  const json: unknown = await response.json();
  meta.responseJSON = json;
  return json;
}
