// The typed SDK: `createQueueClient({ url, token })` talks tRPC to a queue server. It imports
// only types from the server, so it bundles nothing of it.
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import type { AppRouter } from '../server/api/router.js';
import type { ActiveTasks, EnqueueResponse, EnqueueSpecInput, QueueStats } from '../shared/api.js';

export interface QueueClientOptions {
  /** Base URL of the server, e.g. `http://localhost:8081`. */
  url: string;
  /** Bearer token; needed to enqueue. */
  token?: string | undefined;
  /** Give up on a call after this many milliseconds. @default 30000 */
  timeoutMs?: number;
  /** A custom fetch (tests, proxies). @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
}

export interface QueueClient {
  enqueueSpec(input: EnqueueSpecInput): Promise<EnqueueResponse>;
  queueStats(): Promise<QueueStats>;
  activeTasks(): Promise<ActiveTasks>;
}

export { TRPCClientError };
export type { AppRouter };

export function createQueueClient(options: QueueClientOptions): QueueClient {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const baseFetch = options.fetch ?? globalThis.fetch;
  const trpc = createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${options.url.replace(/\/+$/, '')}/trpc`,
        headers: () => (options.token ? { authorization: `Bearer ${options.token}` } : {}),
        fetch: (input: string | URL | Request, init?: RequestInit) =>
          baseFetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) }),
      }),
    ],
  });
  return {
    enqueueSpec: (input) => trpc.enqueueSpec.mutate(input),
    queueStats: () => trpc.queueStats.query(),
    activeTasks: () => trpc.activeTasks.query(),
  };
}
