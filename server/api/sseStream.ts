// Server-sent events on a Fastify reply: named events, a ping to keep proxies from closing a quiet
// stream, and the end of every source when the client goes away.
import type { FastifyReply, FastifyRequest } from 'fastify';

const PING_MS = 15_000;

export interface SseSource {
  event: string;
  /** Reads its events until the signal aborts. */
  open: (signal: AbortSignal) => AsyncIterable<unknown>;
}

export async function sendEventStream(
  request: FastifyRequest,
  reply: FastifyReply,
  sources: SseSource[],
): Promise<void> {
  void reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
  });
  res.write(': connected\n\n');
  const closed = new AbortController();
  request.raw.on('close', () => closed.abort());
  res.on('close', () => closed.abort());
  const ping = setInterval(() => res.write(': ping\n\n'), PING_MS);
  try {
    await Promise.all(
      sources.map(async (source) => {
        for await (const data of source.open(closed.signal)) {
          if (closed.signal.aborted) break;
          res.write(`event: ${source.event}\ndata: ${JSON.stringify(data)}\n\n`);
        }
      }),
    );
  } catch (error) {
    request.log.warn({ err: error }, 'event stream failed');
  } finally {
    clearInterval(ping);
    closed.abort();
    res.end();
  }
}
