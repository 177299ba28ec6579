// Backoff schedules: the delays (ms) between retries, before a dead endpoint's
// probe, or between reconnects. Each is a restartable generator driven by an
// injected random source; Linkerd's `constant` and `jittered` kinds plus the
// other Finagle schedules the router needs.
import type { Random } from "./clock.ts";
import type { BackoffConfig } from "./config.ts";

/** An endless sequence of delays in milliseconds that can start over. */
export interface Backoff {
  /** The next delay (whole milliseconds, ≥ 0). */
  next(): number;
  /** Starts the sequence over, as after a success. */
  reset(): void;
}

/** `constant`'s delay when `ms` is not given (Linkerd: retries back off by 0 ms). */
export const DEFAULT_CONSTANT_BACKOFF_MS = 0;

/** `exponential`'s growth factor when `multiplier` is not given. */
export const DEFAULT_BACKOFF_MULTIPLIER = 2;

/** Finagle's `equalJittered(5.seconds, 300.seconds)`: failure accrual's default probe schedule. */
export const DEFAULT_ACCRUAL_BACKOFF = { kind: "equalJittered", minMs: 5_000, maxMs: 300_000 } as const satisfies BackoffConfig;

/** The same delay every time. */
export class ConstantBackoff implements Backoff {
  readonly #ms: number;

  constructor(ms: number = DEFAULT_CONSTANT_BACKOFF_MS) {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`constant backoff: ms must be a finite number ≥ 0 (got ${ms})`);
    this.#ms = Math.round(ms);
  }

  next(): number {
    return this.#ms;
  }

  reset(): void {}
}

/**
 * Finagle's `decorrelatedJittered` (Linkerd's `jittered`): the first delay is
 * `minMs`, each next one is drawn uniformly from [previous, min(3 × previous,
 * maxMs)). Unlike AWS's variant it never shrinks, so a run of failures keeps
 * backing off further until it reaches `maxMs`.
 */
export class DecorrelatedJitteredBackoff implements Backoff {
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #random: Random;
  #previous: number | undefined;

  constructor(minMs: number, maxMs: number, random: Random) {
    checkRange("jittered", minMs, maxMs);
    this.#minMs = Math.round(minMs);
    this.#maxMs = Math.round(maxMs);
    this.#random = random;
  }

  next(): number {
    const previous = this.#previous;
    const delay = previous === undefined ? this.#minMs : previous + Math.floor(this.#random() * (Math.min(previous * 3, this.#maxMs) - previous));
    this.#previous = delay;
    return delay;
  }

  reset(): void {
    this.#previous = undefined;
  }
}

/**
 * Finagle's `equalJittered`: `minMs` first, then attempt n (n ≥ 1) waits
 * h + U[0, h) with h = minMs × 2^(n−1): half the exponential growth is kept,
 * half is jitter. Once a delay would reach `maxMs` it stays at `maxMs`.
 */
export class EqualJitteredBackoff implements Backoff {
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #random: Random;
  #attempt = 0;
  #capped = false;

  constructor(minMs: number, maxMs: number, random: Random) {
    checkRange("equalJittered", minMs, maxMs);
    this.#minMs = Math.round(minMs);
    this.#maxMs = Math.round(maxMs);
    this.#random = random;
  }

  next(): number {
    const attempt = this.#attempt++;
    if (attempt === 0) return this.#minMs === this.#maxMs ? this.#maxMs : this.#minMs;
    if (this.#capped) return this.#maxMs;
    // 2^(attempt−1) overflows to Infinity long before attempt matters; min() keeps it at maxMs.
    const half = Math.min(this.#maxMs, this.#minMs * 2 ** Math.min(attempt - 1, 1024));
    const delay = half + Math.floor(this.#random() * half);
    if (half === this.#maxMs || delay >= this.#maxMs) {
      this.#capped = true;
      return this.#maxMs;
    }
    return delay;
  }

  reset(): void {
    this.#attempt = 0;
    this.#capped = false;
  }
}

/**
 * Exponential growth capped at `maxMs`: attempt n waits min(maxMs, minMs ×
 * multiplierⁿ). With `jitter: "full"` (the namer client's reconnect schedule,
 * Finagle's `exponentialJittered` in spirit) the wait is drawn uniformly from
 * [minMs, that bound] instead, so many routers reconnecting at once spread out;
 * the floor of `minMs` keeps a reconnect storm from hammering at 0 ms.
 */
export class ExponentialBackoff implements Backoff {
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #multiplier: number;
  readonly #jitter: "none" | "full";
  readonly #random: Random;
  #attempt = 0;

  constructor(options: { readonly minMs: number; readonly maxMs: number; readonly multiplier?: number; readonly jitter?: "none" | "full" }, random: Random) {
    checkRange("exponential", options.minMs, options.maxMs);
    const multiplier = options.multiplier ?? DEFAULT_BACKOFF_MULTIPLIER;
    if (!Number.isFinite(multiplier) || multiplier < 1) throw new RangeError(`exponential backoff: multiplier must be a finite number ≥ 1 (got ${multiplier})`);
    this.#minMs = Math.round(options.minMs);
    this.#maxMs = Math.round(options.maxMs);
    this.#multiplier = multiplier;
    this.#jitter = options.jitter ?? "none";
    this.#random = random;
  }

  next(): number {
    const attempt = this.#attempt;
    const bound = Math.min(this.#maxMs, Math.round(this.#minMs * this.#multiplier ** attempt));
    if (bound < this.#maxMs) this.#attempt++; // stop counting once capped: no overflow, however long it runs
    if (this.#jitter === "none") return bound;
    return this.#minMs + Math.floor(this.#random() * (bound - this.#minMs + 1));
  }

  reset(): void {
    this.#attempt = 0;
  }
}

/** Builds a backoff from its config block (Linkerd's `backoff`; see config.ts for the kinds and their keys). */
export function backoffFromConfig(config: BackoffConfig, random: Random): Backoff {
  switch (config.kind) {
    case "constant":
      return new ConstantBackoff(config.ms ?? DEFAULT_CONSTANT_BACKOFF_MS);
    case "jittered":
      return new DecorrelatedJitteredBackoff(config.minMs, config.maxMs, random);
    case "equalJittered":
      return new EqualJitteredBackoff(config.minMs, config.maxMs, random);
    case "exponential":
      return new ExponentialBackoff(
        {
          minMs: config.minMs,
          maxMs: config.maxMs,
          multiplier: config.multiplier ?? DEFAULT_BACKOFF_MULTIPLIER,
          jitter: config.jitter ?? "none",
        },
        random,
      );
    default:
      return unreachable(config);
  }
}

function checkRange(kind: string, minMs: number, maxMs: number): void {
  // Finagle's requirements: start > 0, maximum > 0, start ≤ maximum.
  if (!Number.isFinite(minMs) || minMs <= 0) throw new RangeError(`${kind} backoff: minMs must be a finite number > 0 (got ${minMs})`);
  if (!Number.isFinite(maxMs) || maxMs < minMs) throw new RangeError(`${kind} backoff: maxMs must be a finite number ≥ minMs (got minMs ${minMs}, maxMs ${maxMs})`);
}

function unreachable(value: never): never {
  throw new Error(`unknown backoff kind ${JSON.stringify(value)}`);
}
