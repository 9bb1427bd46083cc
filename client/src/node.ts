// The package's entry under Node: the same API as ./index.ts, with calls sent by undici's request
// on a keep-alive Agent (./transport.ts) unless the options bring their own fetch.
import { buildQueueClient, type QueueClient, type QueueClientOptions } from './queueClient.js';
import { createTransport } from './transport.js';

export * from './index.js';

export function createQueueClient(options: QueueClientOptions): QueueClient {
  return buildQueueClient(options, createTransport);
}
