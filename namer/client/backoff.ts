// How long a watch waits before it reconnects to the namer: exponential
// backoff with jitter, capped (Finagle's exponentialJittered, as Linkerd's
// namerd interpreters use it). Pure: the random source is injected.

export interface RetryPolicy {
  /** The first wait (ms); Linkerd's `retry.baseSeconds` × 1000. */
  readonly baseMs: number;
  /** The longest wait (ms); Linkerd's `retry.maxSeconds` × 1000. */
  readonly maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 1_000, maxMs: 600_000 };

/** Linkerd's `retry: {baseSeconds, maxSeconds}` config block in milliseconds. */
export function retryFromSeconds(retry: { readonly baseSeconds?: number; readonly maxSeconds?: number }): RetryPolicy {
  return {
    baseMs: (retry.baseSeconds ?? DEFAULT_RETRY.baseMs / 1000) * 1000,
    maxMs: (retry.maxSeconds ?? DEFAULT_RETRY.maxMs / 1000) * 1000,
  };
}

/**
 * The wait before reconnect number `attempt` (0 for the first after a
 * failure): a random point in the upper half of min(max, base·2^attempt), so
 * that routers that lost the namer together do not come back in step, yet
 * the wait still grows with every failure.
 */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 52));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.max(0, Math.round(ceiling / 2 + (ceiling / 2) * r));
}
