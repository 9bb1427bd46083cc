// How the SDK sends queries and mutations under Node: one HTTP request per call, the same
// requests and the same results and errors as tRPC's client with its httpLink (a test sends every
// kind of call through both), for a fraction of its work. A call through tRPC's client goes
// through a recursive proxy, a chain of observables, an AbortController that the promise aborts
// once it is settled, and httpLink's own two AbortControllers, signal race and object spreads;
// with a JSON-only transport and no transformer, none of that is needed. Calls carry the
// caller's signal, if any, to the transport; the transport's own timeouts bound the rest.
// Subscriptions go through tRPC's client as before.
import { TRPCClientError, type CreateTRPCClient } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { transformResult } from '@trpc/server/unstable-core-do-not-import';
import type { FetchLike } from './queueClient.js';

export interface JsonCallerOptions {
  /** The tRPC endpoint, e.g. `http://localhost:8081/trpc`. */
  url: string;
  headers: () => Record<string, string>;
  fetch: FetchLike;
}

type CallType = 'query' | 'mutation';

interface CallOptions {
  signal?: AbortSignal | null | undefined;
}

/** A procedure as tRPC's client shows it: `.query()` or `.mutate()`. */
interface Procedure {
  query(input?: unknown, options?: CallOptions): Promise<unknown>;
  mutate(input?: unknown, options?: CallOptions): Promise<unknown>;
  subscribe(): never;
}

/** What tRPC's client reports of an answer, as an error's `meta`. */
type CallMeta = { response?: Response; responseJSON?: unknown };

/** The server's router has no transformer: data travel as plain JSON both ways. */
const PLAIN = { serialize: (value: unknown) => value, deserialize: (value: unknown) => value };

/**
 * `caller.enqueueSpec.mutate(input)`, `caller.queueStats.query()`: the calls of tRPC's client for
 * `TRouter`'s queries and mutations (not its subscriptions), each one request by `fetch`.
 */
export function createJsonCaller<TRouter extends AnyRouter>(
  options: JsonCallerOptions,
): CreateTRPCClient<TRouter> {
  const base = options.url.replace(/\/$/, '');
  const call = (type: CallType, path: string, input: unknown, signal?: AbortSignal | null) =>
    callProcedure(base, options, type, path, input, signal);
  const procedures = new Map<string, Procedure>();
  const caller = new Proxy(
    {},
    {
      get(_target, path) {
        // Not a thenable, nor anything else a caller might probe for.
        if (typeof path !== 'string' || path === 'then') return undefined;
        let procedure = procedures.get(path);
        if (!procedure) {
          procedure = {
            query: (input, callOptions) => call('query', path, input, callOptions?.signal),
            mutate: (input, callOptions) => call('mutation', path, input, callOptions?.signal),
            subscribe: () => {
              throw new Error(`${path}: subscriptions go through tRPC's client, not this caller`);
            },
          };
          procedures.set(path, procedure);
        }
        return procedure;
      },
    },
  );
  return caller as CreateTRPCClient<TRouter>;
}

/** One call: its result's data, or the TRPCClientError tRPC's client would throw for it. */
async function callProcedure(
  base: string,
  options: JsonCallerOptions,
  type: CallType,
  path: string,
  input: unknown,
  signal: AbortSignal | null | undefined,
): Promise<unknown> {
  const meta: CallMeta = {};
  let json: unknown;
  try {
    json = await send(base, { type, path, input, signal }, options, meta);
  } catch (cause) {
    // As httpLink: a request that failed (unreachable, not JSON) has no meta.
    throw TRPCClientError.from(cause as Error, { meta: undefined });
  }
  let transformed: ReturnType<typeof transformResult>;
  try {
    transformed = transformResult(json as never, PLAIN);
  } catch (cause) {
    throw TRPCClientError.from(cause as Error, { meta });
  }
  if (!transformed.ok) throw TRPCClientError.from(transformed.error, { meta });
  return (transformed.result as { data?: unknown }).data;
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

interface Call {
  type: CallType;
  path: string;
  input: unknown;
  signal: AbortSignal | null | undefined;
}

/** The call as httpLink sends it: a query by GET with `?input=`, a mutation by POST with JSON. */
async function send(
  base: string,
  call: Call,
  options: JsonCallerOptions,
  meta: CallMeta,
): Promise<unknown> {
  const query = call.type === 'query';
  const headers = query
    ? options.headers()
    : Object.assign({ 'content-type': 'application/json' }, options.headers());
  let url = `${base}/${call.path}`;
  let body: string | undefined;
  if (call.input !== undefined) {
    const json = JSON.stringify(call.input);
    if (query) url += `?input=${encodeURIComponent(json)}`;
    else body = json;
  }
  const init: RequestInit = { method: query ? 'GET' : 'POST', headers, body };
  const signal = plainAbort(call.signal);
  if (signal) init.signal = signal;
  const response = await options.fetch(url, init);
  meta.response = response;
  const json: unknown = await response.json();
  meta.responseJSON = json;
  return json;
}
