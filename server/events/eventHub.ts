// Task events on this node and across the cluster. Every event is delivered at once to this
// node's subscribers; on PostgreSQL it also goes out on a NOTIFY channel (batched: what is
// published within 50 ms shares one notification, runs of alike status events in a compact form
// of statusRuns.ts) so subscribers connected to any other node see it too. Subscribers are told
// whether an event happened on this node. NOTIFY payloads are measured in bytes: a step's output
// too large for one is split over several events, and any other event too large is stored in
// queue_event_spill and sent by reference.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { taskEventSchema, type TaskEvent } from '../../shared/events.js';
import type { Database } from '../db/database.js';
import { notify } from '../queue/channels.js';
import { joinWithin } from './payloadChunks.js';
import { decodeStatusRun, encodeStatusRun, statusRunLength } from './statusRuns.js';

export const EVENTS_CHANNEL = 'queue_events';
/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
export const MAX_PAYLOAD_BYTES = 7_900;
const FLUSH_DELAY_MS = 50;
/** Spilled events are read by the other nodes within milliseconds; kept a while for slow ones. */
const SPILL_KEEP_MS = 5 * 60_000;
const SPILL_CLEAN_EVERY_MS = 60_000;

export type EventListener = (event: TaskEvent, local: boolean) => void;

interface Envelope {
  /** The node that published the events. */
  o: string;
  /** Events, or references `{ "ref": id }` to rows of queue_event_spill. */
  e: unknown[];
}

export class EventHub {
  private readonly emitter = new EventEmitter();
  private outbox: TaskEvent[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private unlisten: (() => Promise<void>) | undefined;
  private stopped = false;
  /** Received envelopes are handled one after another, so events keep their order. */
  private receiving: Promise<void> = Promise.resolve();
  private lastSpillClean = 0;
  private readonly ownHead: string;

  constructor(
    private readonly database: Database,
    private readonly nodeId: string,
    private readonly logger: Logger,
  ) {
    this.emitter.setMaxListeners(0);
    this.ownHead = envelopeHead(nodeId);
  }

  get clustered(): boolean {
    return this.database.kind === 'postgres';
  }

  async start(): Promise<void> {
    if (!this.clustered || this.unlisten) return;
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
    await this.receiving;
    this.emitter.removeAllListeners();
  }

  private async flush(): Promise<void> {
    const events = this.outbox;
    this.outbox = [];
    const room = MAX_PAYLOAD_BYTES - envelopeBytes(this.nodeId) - 1;
    const items: string[] = [];
    for (let i = 0; i < events.length; i++) {
      const run = statusRunLength(events, i);
      if (run > 0) {
        items.push(...encodeStatusRun(events.slice(i, i + run), room));
        i += run - 1;
        continue;
      }
      const event = events[i]!;
      const fitted = fit(event, room);
      if (fitted) {
        items.push(...fitted);
        continue;
      }
      try {
        items.push(JSON.stringify({ ref: await this.spill(JSON.stringify(event)) }));
      } catch (error) {
        this.logger.warn({ err: error, type: event.type }, 'could not store a large task event');
      }
    }
    for (const payload of pack(this.nodeId, items)) {
      try {
        await notify(this.database, EVENTS_CHANNEL, payload);
      } catch (error) {
        // Live updates are best effort; the database stays the record.
        this.logger.debug({ err: error }, 'could not publish task events to other nodes');
      }
    }
  }

  private async spill(json: string): Promise<number> {
    const [row] = await this.database.query<{ id: number }>(
      'INSERT INTO queue_event_spill (payload) VALUES ($1) RETURNING id',
      [json],
    );
    if (Date.now() - this.lastSpillClean > SPILL_CLEAN_EVERY_MS) {
      this.lastSpillClean = Date.now();
      await this.database.query(
        `DELETE FROM queue_event_spill WHERE created_at < now() - $1 * interval '1 millisecond'`,
        [SPILL_KEEP_MS],
      );
    }
    return row!.id;
  }

  private receive(payload: string): void {
    // Nobody on this node is watching: the other nodes' events need not be parsed. This node's
    // own notifications come back too; `pack` starts them with its id.
    if (this.subscriberCount === 0 || payload.startsWith(this.ownHead)) return;
    this.receiving = this.receiving.then(() =>
      this.handle(payload).catch((error: unknown) =>
        this.logger.debug({ err: error }, 'could not read task events of another node'),
      ),
    );
  }

  private async handle(payload: string): Promise<void> {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(payload) as Envelope;
    } catch {
      return;
    }
    if (envelope.o === this.nodeId || !Array.isArray(envelope.e)) return;
    const refs = envelope.e.flatMap((raw) => {
      const ref = (raw as { ref?: unknown }).ref;
      return typeof ref === 'number' ? [ref] : [];
    });
    const spilled = new Map<number, unknown>();
    if (refs.length > 0) {
      const rows = await this.database.query<{ id: number; payload: string }>(
        'SELECT id, payload FROM queue_event_spill WHERE id = ANY($1::bigint[])',
        [refs],
      );
      for (const row of rows) spilled.set(row.id, JSON.parse(row.payload));
    }
    for (const raw of envelope.e) {
      const run = decodeStatusRun(raw);
      if (run) {
        for (const event of run) this.emitter.emit('event', event, false);
        continue;
      }
      const ref = (raw as { ref?: unknown }).ref;
      const parsed = taskEventSchema.safeParse(typeof ref === 'number' ? spilled.get(ref) : raw);
      if (parsed.success) this.emitter.emit('event', parsed.data, false);
    }
  }
}

function envelopeHead(nodeId: string): string {
  return `{"o":${JSON.stringify(nodeId)},"e":[`;
}

function envelopeBytes(nodeId: string): number {
  return Buffer.byteLength(`${envelopeHead(nodeId)}]}`);
}

/**
 * The event as JSON pieces of at most `room` bytes each: itself, or a step's output split over
 * several events (the first keeps `skipped`). Undefined when it cannot be split.
 */
export function fit(event: TaskEvent, room: number): string[] | undefined {
  const json = JSON.stringify(event);
  if (Buffer.byteLength(json) <= room) return [json];
  if (event.type !== 'step.output') return undefined;
  const overhead = Buffer.byteLength(JSON.stringify({ ...event, text: '', skipped: 0 })) + 16;
  // A character takes at most 6 bytes in JSON (an escaped control character, or half of a pair).
  const chars = Math.floor((room - overhead) / 6);
  if (chars < 1) return undefined;
  const pieces: string[] = [];
  for (let at = 0; at < event.text.length;) {
    let end = Math.min(at + chars, event.text.length);
    // Never cut a surrogate pair in two.
    const last = event.text.charCodeAt(end - 1);
    if (end < event.text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    pieces.push(
      JSON.stringify({
        ...event,
        text: event.text.slice(at, end),
        skipped: at === 0 ? event.skipped : 0,
      }),
    );
    at = end;
  }
  return pieces;
}

/** Groups JSON events into NOTIFY payloads of at most MAX_PAYLOAD_BYTES each. */
export function pack(nodeId: string, items: readonly string[]): string[] {
  return joinWithin(envelopeHead(nodeId), items, MAX_PAYLOAD_BYTES);
}
