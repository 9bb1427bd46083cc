// A link in front of the terminating link (httpLink, where the SDK uses fetch) that ends a query's
// or mutation's call at its answer. tRPC's client turns each call into a promise with
// `observableToPromise` (in @trpc/server's observable), which resolves on the answer and then,
// when the link completes, aborts an AbortController of its own: Node builds a DOMException with a
// stack trace for it, about 60 µs of the client's CPU per call, for a promise that has already
// resolved. Both links complete right after their answer, so this link forwards the answer and
// errors and drops a completion that follows an answer; a completion without one still goes
// through (the promise then rejects, as tRPC intends). The caller unsubscribes on the answer,
// which tears the request down as before.
import type { TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';

export function resultOnceLink<TRouter extends AnyRouter>(): TRPCLink<TRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        let answered = false;
        const upstream = next(op).subscribe({
          next(value) {
            answered = true;
            observer.next(value);
          },
          error(error) {
            observer.error(error);
          },
          complete() {
            if (!answered) observer.complete();
          },
        });
        return upstream;
      });
}
