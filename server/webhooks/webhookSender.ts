// The delivery loop every node runs beside its workers: it claims due deliveries, sends up to
// WEBHOOK_CONCURRENCY at once, and records each attempt. It shares nothing with the workers but
// the database, so a slow or dead receiver never holds up the queue.
import type { Logger } from 'pino';
import type { Agent } from 'undici';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import {
  claimDeliveries,
  pruneDeliveries,
  recordAttempt,
  type ClaimedDelivery,
} from './deliveries.js';
import { createWebhookAgent, sendWebhook, type AttemptResult } from './sendWebhook.js';

/** How often finished deliveries past WEBHOOK_HISTORY_HOURS are deleted. */
const PRUNE_INTERVAL_MS = 10 * 60_000;

export interface WebhookSenderOptions {
  database: Database;
  nodeId: string;
  config: Config['webhooks'];
  logger: Logger;
}

export class WebhookSender {
  private readonly agent: Agent;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private lastPrune = 0;
  private failing = false;
  private stopped: Promise<void> | undefined;

  constructor(private readonly options: WebhookSenderOptions) {
    this.agent = createWebhookAgent(options.config);
  }

  /**
   * A claimed delivery is ours until then: one full request and slack to record it. After that
   * any node may send it again (a node that died mid-request).
   */
  private get leaseMs(): number {
    return this.options.config.timeoutMs + 5000;
  }

  start(): void {
    this.timer = setInterval(() => this.poll(), this.options.config.pollIntervalMs);
    this.timer.unref();
    this.poll();
  }

  /** Looks for due deliveries now (one look at a time). */
  poll(): void {
    if (this.stopping.signal.aborted || this.polling) return;
    this.polling = this.claimAndSend()
      .then(() => {
        if (this.failing) this.options.logger.info('webhooks: claiming deliveries again');
        this.failing = false;
      })
      .catch((error: unknown) => {
        // Once per outage, not once per poll.
        if (!this.failing) {
          this.options.logger.warn({ err: error }, 'webhooks: could not claim deliveries');
        }
        this.failing = true;
      })
      .finally(() => (this.polling = undefined));
  }

  private async claimAndSend(): Promise<void> {
    const { database, nodeId, config } = this.options;
    await this.pruneNowAndThen();
    const room = config.concurrency - this.inFlight.size;
    if (room <= 0 || this.stopping.signal.aborted) return;
    const claimed = await claimDeliveries(database, { nodeId, limit: room, leaseMs: this.leaseMs });
    for (const delivery of claimed) {
      const sending: Promise<void> = this.deliver(delivery).finally(() => {
        this.inFlight.delete(sending);
        // Every slot was taken: more may be due (a backlog after an outage); look again.
        if (claimed.length === room) this.poll();
      });
      this.inFlight.add(sending);
    }
  }

  private async deliver(delivery: ClaimedDelivery): Promise<void> {
    const { database, nodeId, config, logger } = this.options;
    const result: AttemptResult = await sendWebhook(
      this.agent,
      {
        url: delivery.url,
        secret: delivery.secret,
        messageId: delivery.messageId,
        body: delivery.body,
      },
      { ...config, signal: this.stopping.signal },
    );
    // Cut short by this node stopping: due again at once, for any node.
    const interrupted = this.stopping.signal.aborted && !result.ok;
    try {
      const status = await recordAttempt(database, {
        deliveryId: delivery.id,
        attempt: delivery.attempt,
        ok: result.ok,
        retryInMs: interrupted ? 0 : this.backoffMs(delivery.attempt),
        giveUpAfterMs: config.giveUpAfterMs,
        statusCode: result.statusCode,
        error: interrupted ? 'interrupted: the sending node stopped' : result.error,
        durationMs: result.durationMs,
        nodeId,
      });
      if (status === 'failed') {
        logger.warn(
          { messageId: delivery.messageId, attempts: delivery.attempt },
          'webhooks: gave up a delivery that kept failing',
        );
      } else if (!result.ok) {
        logger.debug(
          { messageId: delivery.messageId, attempt: delivery.attempt, error: result.error },
          'webhooks: delivery attempt failed; it will be retried',
        );
      }
    } catch (error) {
      // The lease runs out and the delivery is sent again: at least once.
      logger.warn(
        { err: error, messageId: delivery.messageId },
        'webhooks: could not record an attempt',
      );
    }
  }

  /** Doubles per attempt from WEBHOOK_RETRY_BASE_DELAY up to an hour, ±20% jitter. */
  private backoffMs(attempt: number): number {
    const { retryBaseDelayMs, retryMaxDelayMs } = this.options.config;
    const delay = Math.min(retryBaseDelayMs * 2 ** Math.min(attempt - 1, 30), retryMaxDelayMs);
    return Math.round(delay * (0.8 + Math.random() * 0.4));
  }

  private async pruneNowAndThen(): Promise<void> {
    if (Date.now() - this.lastPrune < PRUNE_INTERVAL_MS) return;
    this.lastPrune = Date.now();
    try {
      const deleted = await pruneDeliveries(this.options.database, {
        maxAgeMs: this.options.config.historyMs,
        batchSize: 1000,
      });
      if (deleted > 0) this.options.logger.info({ deleted }, 'webhooks: deleted old deliveries');
    } catch (error) {
      this.options.logger.warn({ err: error }, 'webhooks: could not delete old deliveries');
    }
  }

  /** Stops claiming; requests in flight are cut short and left due for any node. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      clearInterval(this.timer);
      this.stopping.abort();
      await this.polling;
      await Promise.all(this.inFlight);
      await this.agent.close();
    })();
    return this.stopped;
  }
}
