// Live stats for subscribers: recomputed when task events say something changed (at most every
// MIN_INTERVAL_MS), and on a slow timer for what events do not cover (nodes coming and going).
// Subscribers get a value only when it differs from the last one. Idle without subscribers.
import type { QueueStats } from '../../shared/api.js';
import type { EventHub } from './eventHub.js';

const MIN_INTERVAL_MS = 250;
const REFRESH_MS = 2_000;

type Listener = (stats: QueueStats) => void;

export class StatsFeed {
  private readonly listeners = new Set<Listener>();
  private last: QueueStats | undefined;
  private lastJson = '';
  private timer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private lastRun = 0;
  private running = false;
  private dirty = false;

  constructor(
    private readonly read: () => Promise<QueueStats>,
    private readonly events: EventHub,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Calls `listener` with the current stats at once, then with every change. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.activate();
    if (this.last) listener(this.last);
    else this.schedule();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.deactivate();
    };
  }

  private activate(): void {
    this.unsubscribe = this.events.subscribe((event) => {
      if (event.type === 'task.status') this.schedule();
    });
    this.refreshTimer = setInterval(() => this.schedule(), REFRESH_MS);
  }

  private deactivate(): void {
    this.unsubscribe?.();
    clearInterval(this.refreshTimer);
    clearTimeout(this.timer);
    this.timer = undefined;
    this.last = undefined;
    this.lastJson = '';
  }

  private schedule(): void {
    if (this.running) {
      this.dirty = true;
      return;
    }
    if (this.timer) return;
    const wait = Math.max(0, this.lastRun + MIN_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, wait);
  }

  private async refresh(): Promise<void> {
    if (this.listeners.size === 0) return;
    this.running = true;
    this.lastRun = Date.now();
    try {
      const stats = await this.read();
      const json = JSON.stringify(stats);
      if (json !== this.lastJson && this.listeners.size > 0) {
        this.last = stats;
        this.lastJson = json;
        for (const listener of this.listeners) listener(stats);
      }
    } catch (error) {
      this.onError(error);
    } finally {
      this.running = false;
      if (this.dirty && this.listeners.size > 0) {
        this.dirty = false;
        this.schedule();
      }
    }
  }
}
