// Task events on this node and across the cluster. Every event is delivered at once to this
// node's subscribers; on PostgreSQL it also goes out on a NOTIFY channel (batched: what is
// published within a few milliseconds shares one notification) so subscribers connected to any
// other node see it too. Subscribers are told whether an event happened on this node.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { taskEventSchema, type TaskEvent } from '../../shared/events.js';
import type { Database } from '../db/database.js';
import { notify } from '../queue/channels.js';

export const EVENTS_CHANNEL = 'queue_events';
/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
const MAX_PAYLOAD = 7_000;
const FLUSH_DELAY_MS = 5;

export type EventListener = (event: TaskEvent, local: boolean) => void;

interface Envelope {
  /** The node that published the events. */
  o: string;
  e: TaskEvent[];
}

export class EventHub {
  private readonly emitter = new EventEmitter();
  private outbox: TaskEvent[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private unlisten: (() => Promise<void>) | undefined;
  private stopped = false;

  constructor(
    private readonly database: Database,
    private readonly nodeId: string,
    private readonly logger: Logger,
  ) {
    this.emitter.setMaxListeners(0);
  }

  get clustered(): boolean {
    return this.database.kind === 'postgres';
  }

  async start(): Promise<void> {
    if (!this.clustered) return;
    this.unlisten = await this.database.listen(EVENTS_CHANNEL, (payload) => this.receive(payload));
  }

  publish(event: TaskEvent): void {
    if (this.stopped) return;
    this.emitter.emit('event', event, true);
    if (!this.clustered) return;
    this.outbox.push(event);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.flushing = this.flushing.then(() => this.flush());
    }, FLUSH_DELAY_MS);
  }

  subscribe(listener: EventListener): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  get subscriberCount(): number {
    return this.emitter.listenerCount('event');
  }

  async stop(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      this.flushing = this.flushing.then(() => this.flush());
    }
    await this.flushing;
    this.stopped = true;
    await this.unlisten?.();
    this.emitter.removeAllListeners();
  }

  private async flush(): Promise<void> {
    const events = this.outbox;
    this.outbox = [];
    for (const payload of pack(this.nodeId, events)) {
      try {
        await notify(this.database, EVENTS_CHANNEL, payload);
      } catch (error) {
        // Live updates are best effort; the database stays the record.
        this.logger.debug({ err: error }, 'could not publish task events to other nodes');
      }
    }
  }

  private receive(payload: string): void {
    // Nobody on this node is watching: the other nodes' events need not be parsed.
    if (this.subscriberCount === 0) return;
    let envelope: Envelope;
    try {
      envelope = JSON.parse(payload) as Envelope;
    } catch {
      return;
    }
    if (envelope.o === this.nodeId || !Array.isArray(envelope.e)) return;
    for (const raw of envelope.e) {
      const parsed = taskEventSchema.safeParse(raw);
      if (parsed.success) this.emitter.emit('event', parsed.data, false);
    }
  }
}

/** Splits events into NOTIFY payloads under the size limit; an event too large alone is cut. */
export function pack(nodeId: string, events: TaskEvent[]): string[] {
  const payloads: string[] = [];
  const head = `{"o":${JSON.stringify(nodeId)},"e":[`;
  let body: string[] = [];
  let size = head.length + 2;
  for (const event of events) {
    let json = JSON.stringify(event);
    if (json.length + head.length + 2 > MAX_PAYLOAD) {
      if (event.type !== 'step.output') continue;
      const room = MAX_PAYLOAD - head.length - 200;
      json = JSON.stringify({
        ...event,
        text: event.text.slice(-Math.floor(room / 2)),
        skipped: event.skipped,
      });
      if (json.length + head.length + 2 > MAX_PAYLOAD) continue;
    }
    if (size + json.length + 1 > MAX_PAYLOAD && body.length > 0) {
      payloads.push(`${head}${body.join(',')}]}`);
      body = [];
      size = head.length + 2;
    }
    body.push(json);
    size += json.length + 1;
  }
  if (body.length > 0) payloads.push(`${head}${body.join(',')}]}`);
  return payloads;
}
