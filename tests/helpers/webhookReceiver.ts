// A webhook receiver for tests: node:http on port 0 that records every request and checks its
// signature with the `standardwebhooks` package (an implementation independent of ours).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** The parsed payload when the signature verified; undefined when it did not. */
  verified: { type: string; timestamp: string; data: Record<string, any> } | undefined;
  /** The status this receiver answered (0 while it holds the request). */
  answered: number;
}

export interface WebhookReceiver {
  url: string;
  requests: ReceivedWebhook[];
  /** The secret signatures are checked with; set it once the server has given it. */
  secret: string | undefined;
  /** Decides the answer per request: a status, or 'hold' to never answer (until close). */
  respond: (request: ReceivedWebhook) => number | 'hold';
  /** Distinct webhook-ids answered with a 2xx, each with its verified payload. */
  delivered: () => Map<string, NonNullable<ReceivedWebhook['verified']>>;
  close: () => Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const held = new Set<http.ServerResponse>();
  const receiver: WebhookReceiver = {
    url: '',
    requests: [],
    secret: undefined,
    respond: () => 204,
    delivered() {
      const out = new Map<string, NonNullable<ReceivedWebhook['verified']>>();
      for (const r of receiver.requests) {
        if (r.verified && r.answered >= 200 && r.answered < 300) out.set(r.id, r.verified);
      }
      return out;
    },
    async close() {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const header = (name: string) => String(request.headers[name] ?? '');
      const received: ReceivedWebhook = {
        id: header('webhook-id'),
        timestamp: header('webhook-timestamp'),
        signature: header('webhook-signature'),
        body,
        verified: undefined,
        answered: 0,
      };
      try {
        if (receiver.secret) {
          received.verified = new Webhook(receiver.secret).verify(body, {
            'webhook-id': received.id,
            'webhook-timestamp': received.timestamp,
            'webhook-signature': received.signature,
          }) as ReceivedWebhook['verified'];
        }
      } catch {
        // Left unverified: the test sees it.
      }
      receiver.requests.push(received);
      const answer = receiver.respond(received);
      if (answer === 'hold') {
        held.add(response);
        response.on('close', () => held.delete(response));
        return;
      }
      received.answered = answer;
      response.statusCode = answer;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}
