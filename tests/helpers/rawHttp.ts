// Sends one HTTP request exactly as a test describes it (no Content-Type unless given, repeated
// headers, raw bytes, chunked bodies, even bytes no HTTP client would write) and reads the answer.
// Each request has its own connection, closed afterwards: nothing is left open between tests.
import http from 'node:http';
import net from 'node:net';

export interface RawRequest {
  method: string;
  /** Path and query, e.g. `/api/specs?priority=1`. */
  path: string;
  /** An array value sends the header once per element. */
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** Send the body in pieces without a Content-Length (Transfer-Encoding: chunked). */
  chunked?: boolean;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  durationMs: number;
}

const CHUNK = 64 * 1024;

export function sendRequest(
  baseUrl: string,
  request: RawRequest,
  timeoutMs = 30_000,
): Promise<RawResponse> {
  const started = performance.now();
  const body =
    request.body === undefined
      ? undefined
      : Buffer.isBuffer(request.body)
        ? request.body
        : Buffer.from(request.body, 'utf8');
  const headers: Record<string, string | string[]> = { ...request.headers };
  if (body !== undefined && !request.chunked) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(new URL(request.path, baseUrl), {
      method: request.method,
      headers,
      agent: false,
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          json: parseJson(text),
          durationMs: performance.now() - started,
        });
      });
    });
    // A server may answer (413, 431) and close before it has read the whole request: writing the
    // rest then fails, which is expected once an answer has come.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (body !== undefined) {
      if (request.chunked) {
        for (let at = 0; at < body.length; at += CHUNK) req.write(body.subarray(at, at + CHUNK));
      } else {
        req.write(body);
      }
    }
    req.end();
  });
}

/**
 * Writes `bytes` to a new connection as they are and reads until the server closes it: for
 * requests an HTTP client refuses to send (a NUL in a header value). Send `Connection: close`.
 */
export function sendRawBytes(
  baseUrl: string,
  bytes: string | Buffer,
  timeoutMs = 30_000,
): Promise<RawResponse> {
  const started = performance.now();
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(Number(url.port), url.hostname, () => socket.end(bytes));
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`no answer within ${timeoutMs} ms`)),
    );
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The server may reset the connection after answering; what it wrote is still read below.
    socket.on('error', (error) => {
      if (chunks.length === 0) reject(error);
    });
    socket.on('close', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const end = raw.indexOf('\r\n\r\n');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
      if (!status || end < 0) {
        reject(new Error(`not an HTTP answer: ${JSON.stringify(raw.slice(0, 200))}`));
        return;
      }
      const headers: http.IncomingHttpHeaders = {};
      for (const line of raw.slice(0, end).split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const text = raw.slice(end + 4);
      resolve({
        status: Number(status[1]),
        headers,
        text,
        json: parseJson(text),
        durationMs: performance.now() - started,
      });
    });
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
