// resultOnceLink ends a call at its answer: tRPC's promise resolves without aborting a controller
// afterwards, errors and answerless completions still reach the caller, and the link below is
// torn down once the answer is in.
import { createTRPCClient, TRPCClientError, type TRPCLink } from '@trpc/client';
import { observable } from '@trpc/server/observable';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resultOnceLink } from '../../client/src/resultOnceLink.js';
import type { AppRouter } from '../../server/api/router.js';

type Ending = 'answer' | 'error' | 'nothing';

/** A terminating link that ends every call as told, later, as httpLink does. */
function fakeServer(ending: Ending, teardowns: { count: number }): TRPCLink<AppRouter> {
  return () => () =>
    observable((observer) => {
      const timer = setTimeout(() => {
        if (ending === 'answer') {
          observer.next({ result: { type: 'data', data: { queue_size: 7 } } });
          observer.complete();
        } else if (ending === 'error') {
          observer.error(TRPCClientError.from(new Error('refused')));
        } else {
          observer.complete();
        }
      }, 1);
      return () => {
        clearTimeout(timer);
        teardowns.count += 1;
      };
    });
}

function client(ending: Ending, withLink: boolean, teardowns = { count: 0 }) {
  const links = [fakeServer(ending, teardowns)];
  return createTRPCClient<AppRouter>({
    links: withLink ? [resultOnceLink<AppRouter>(), ...links] : links,
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('resultOnceLink', () => {
  it('resolves on the answer without the abort tRPC makes after a completion', async () => {
    const abort = vi.spyOn(AbortController.prototype, 'abort');
    await expect(client('answer', false).queueStats.query()).resolves.toEqual({ queue_size: 7 });
    expect(abort).toHaveBeenCalledTimes(1);
    abort.mockClear();
    const teardowns = { count: 0 };
    await expect(client('answer', true, teardowns).queueStats.query()).resolves.toEqual({
      queue_size: 7,
    });
    expect(abort).not.toHaveBeenCalled();
    expect(teardowns.count).toBe(1);
  });

  it('passes errors on', async () => {
    await expect(client('error', true).queueStats.query()).rejects.toThrow('refused');
  });

  it('passes on a completion that came without an answer (the call then fails)', async () => {
    const outcome = await client('nothing', true)
      .queueStats.query()
      .then(
        () => 'resolved',
        () => 'rejected',
      );
    expect(outcome).toBe('rejected');
  });
});
