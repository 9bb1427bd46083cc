// One webhook request: a signed POST that times out and never follows a redirect (a 3xx counts
// as a failed attempt). The answer's body is drained, never kept.
import { Agent, request } from 'undici';
import { checkLiteralTarget, publicOnlyLookup } from './targetPolicy.js';
import { signWebhook } from './signWebhook.js';

export interface WebhookRequest {
  url: string;
  secret: string;
  messageId: string;
  /** The JSON body, sent byte for byte as signed. */
  body: string;
}

export interface AttemptResult {
  ok: boolean;
  /** The receiver's status; null when it never answered. */
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export interface SenderOptions {
  allowPrivate: boolean;
  timeoutMs: number;
}

/** The connection pool of webhook requests; refuses private addresses unless allowed. */
export function createWebhookAgent(options: SenderOptions): Agent {
  return new Agent({
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connect: {
      timeout: options.timeoutMs,
      ...(options.allowPrivate ? {} : { lookup: publicOnlyLookup }),
    },
  });
}

export async function sendWebhook(
  agent: Agent,
  webhook: WebhookRequest,
  options: SenderOptions & { signal?: AbortSignal },
): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const url = new URL(webhook.url);
    if (!options.allowPrivate) checkLiteralTarget(url);
    const timestamp = Math.floor(Date.now() / 1000);
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const response = await request(url, {
      method: 'POST',
      dispatcher: agent,
      signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'innominatus-queue-webhooks',
        'webhook-id': webhook.messageId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(
          webhook.secret,
          webhook.messageId,
          timestamp,
          webhook.body,
        ),
      },
      body: webhook.body,
    });
    await response.body.dump({ limit: 64 * 1024 });
    const ok = response.statusCode >= 200 && response.statusCode < 300;
    return {
      ok,
      statusCode: response.statusCode,
      error: ok ? null : `the receiver answered ${response.statusCode}`,
      durationMs: elapsed(),
    };
  } catch (error) {
    return { ok: false, statusCode: null, error: describeFailure(error), durationMs: elapsed() };
  }
}

function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError') return 'timed out';
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`.slice(0, 500);
}
