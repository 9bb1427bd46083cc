// Per-token rate limit of enqueues: a token bucket per token, refilled at ENQUEUE_RATE_LIMIT per
// second up to ENQUEUE_RATE_BURST. In memory, per node: with N nodes behind a balancer a token
// gets up to N times the rate, which keeps the check off the database.
import { TRPCError } from '@trpc/server';
import { RetryAfter } from '../errors.js';

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /**
   * Takes `count` enqueues for `key` (a batch takes one per task), or throws TOO_MANY_REQUESTS
   * saying when to come back.
   */
  take(key: string, who: string, count = 1): void {
    if (!this.enabled) return;
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(
      this.burst,
      bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond,
    );
    bucket.at = now;
    if (count > this.burst) {
      throw new TRPCError({
        code: 'TOO_MANY_REQUESTS',
        message: `A batch of ${count} enqueues is more than ${who}'s burst of ${this.burst}: send at most ${this.burst} at a time.`,
        cause: new RetryAfter(Math.max(1, Math.ceil(this.burst / this.perSecond))),
      });
    }
    if (bucket.tokens < count) {
      this.buckets.set(key, bucket);
      const seconds = Math.max(1, Math.ceil((count - bucket.tokens) / this.perSecond));
      throw new TRPCError({
        code: 'TOO_MANY_REQUESTS',
        message: `Too many enqueues for ${who}: the limit is ${this.perSecond} per second (burst ${this.burst}). Retry after ${seconds}s.`,
        cause: new RetryAfter(seconds),
      });
    }
    bucket.tokens -= count;
    this.buckets.set(key, bucket);
    if (this.buckets.size > 10_000) this.forgetFullBuckets(now);
  }

  /** A bucket that has refilled completely carries no state worth keeping. */
  private forgetFullBuckets(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond >= this.burst)
        this.buckets.delete(key);
    }
  }
}
