// Server-sent events read with fetch(), because EventSource cannot send the Authorization header a
// task's stream needs; and a connection that comes back, with backoff, when the network drops.
import { errorOf, type ApiError } from './api.js';

export interface StreamMessage {
  event: string;
  data: string;
}

/** The `event:` and `data:` fields of a text/event-stream body, message by message. */
export async function* parseEventStream(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<StreamMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (;;) {
        const end = /\r\n|\r|\n/.exec(buffer);
        // A lone CR at the end may be the first half of a CRLF still on its way.
        if (!end || (end[0] === '\r' && end.index === buffer.length - 1)) break;
        const line = buffer.slice(0, end.index);
        buffer = buffer.slice(end.index + end[0].length);
        if (line === '') {
          if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue; // a comment: the server's keep-alive ping
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = text;
        else if (field === 'data') data.push(text);
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

export type StreamState =
  | { kind: 'connecting' }
  | { kind: 'open' }
  | { kind: 'waiting'; retryInMs: number; reason: string }
  /** The server ended the stream and it is not to be opened again. */
  | { kind: 'ended' }
  /** Refused for good (no token, a bad one, no such task): trying again would not help. */
  | { kind: 'refused'; error: ApiError };

export interface LiveStreamOptions {
  /** A same-origin path, e.g. `/api/queue/events`. */
  path: string;
  token: string | null;
  onMessage: (message: StreamMessage) => void;
  onState?: (state: StreamState) => void;
  /**
   * Connect again when the server ends the stream. The queue's stream only ends when a node
   * stops; a task's stream ends with the task.
   */
  reconnectOnEnd: boolean;
}

export interface LiveStream {
  close(): void;
}

const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 30_000;
const REFUSALS = new Set([400, 401, 403, 404]);

export function openLiveStream(options: LiveStreamOptions): LiveStream {
  const controller = new AbortController();
  const { signal } = controller;
  const setState = (state: StreamState) => {
    if (!signal.aborted) options.onState?.(state);
  };

  void (async () => {
    let delay = FIRST_RETRY_MS;
    while (!signal.aborted) {
      let reason: string;
      setState({ kind: 'connecting' });
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream' };
        if (options.token !== null) headers.authorization = `Bearer ${options.token}`;
        const response = await fetch(options.path, { headers, signal, cache: 'no-store' });
        if (!response.ok || !response.body) {
          const error = await errorOf(response);
          if (REFUSALS.has(response.status)) {
            setState({ kind: 'refused', error });
            return;
          }
          throw error;
        }
        setState({ kind: 'open' });
        delay = FIRST_RETRY_MS;
        for await (const message of parseEventStream(response.body)) {
          if (signal.aborted) return;
          options.onMessage(message);
        }
        if (!options.reconnectOnEnd) {
          setState({ kind: 'ended' });
          return;
        }
        reason = 'the server closed the stream';
      } catch (error) {
        if (signal.aborted) return;
        reason = error instanceof Error ? error.message : String(error);
      }
      setState({ kind: 'waiting', retryInMs: delay, reason });
      await sleep(delay, signal);
      delay = Math.min(delay * 2, LAST_RETRY_MS);
    }
  })();

  return { close: () => controller.abort() };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
