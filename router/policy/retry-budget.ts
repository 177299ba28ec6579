// The retry budget (Finagle's TokenRetryBudget; Linkerd's `retries.budget`
// and `requeueBudget`): retries may add at most `percentCanRetry` of the
// traffic on top of a small per-second reserve, so an outage cannot turn into
// a retry storm the way "retry 3 times" does.
import type { Clock } from "./clock.ts";
import type { RetryBudgetConfig } from "./config.ts";

/** Linkerd's defaults: deposits live 10 s, 10 retries/s are always allowed, plus 20 % of requests. */
export const DEFAULT_RETRY_BUDGET = { ttlSecs: 10, minRetriesPerSec: 10, percentCanRetry: 0.2 } as const;

/** Finagle's limits: a ttl of 1–60 s and at most 1000 retries per request. */
export const RETRY_BUDGET_LIMITS = {
  minTtlSecs: 1,
  maxTtlSecs: 60,
  maxPercentCanRetry: 1000,
  /**
   * meshd's own floor for a non-zero `percentCanRetry` (one retry per million
   * requests); below it the integer token arithmetic would lose precision.
   */
  minNonZeroPercentCanRetry: 1e-6,
  /** meshd's own cap, for the same reason. */
  maxMinRetriesPerSec: 1_000_000,
} as const;

/**
 * What one request deposits. Like Finagle, tokens are integers scaled by
 * 1000 so that percentCanRetry = 0.2 costs exactly 5000 per retry and no
 * floating-point drift creeps into the books.
 */
const SCALE = 1000;

export interface RetryBudgetOptions {
  /** How long a deposit can be spent, and how long a spent reserve token stays spent (seconds, 1–60). */
  readonly ttlSecs?: number;
  /** Retries allowed per second whatever the traffic: the reserve is minRetriesPerSec × ttlSecs per ttl window (integer ≥ 0). */
  readonly minRetriesPerSec?: number;
  /** Retries each request earns, 0–1000 (0.2: one retry per five requests). */
  readonly percentCanRetry?: number;
}

/**
 * A token bucket with expiring deposits.
 *
 * Each `deposit()` (one per original request) adds tokens worth
 * `percentCanRetry` retries, spendable for `ttlSecs`. On top of that a reserve
 * of minRetriesPerSec × ttlSecs retries exists; a retry spent from the reserve
 * comes back after `ttlSecs`. `tryWithdraw()` (one per retry) spends the
 * oldest deposits first, because they are the first to expire, and the
 * reserve only when deposits run out.
 *
 * Guarantees, checked by property tests: the balance never goes negative;
 * over any window of `ttlSecs`, retries granted ≤ percentCanRetry × the
 * requests of that window and of the ttl before it (a deposit can pay for a
 * retry up to ttl later) + the reserve.
 *
 * Finagle keeps one windowed running sum instead, so its books can dip below
 * zero when a deposit expires after paying for a retry that has not; spending
 * deposits as tokens keeps ours exact.
 */
export class RetryBudget {
  readonly ttlSecs: number;
  readonly minRetriesPerSec: number;
  readonly percentCanRetry: number;

  readonly #now: Clock;
  readonly #ttlMs: number;
  readonly #depositUnits: number;
  readonly #withdrawUnits: number;
  readonly #reserveUnits: number;
  /** Unspent deposits, oldest first: when made (ms) and how many units are left. */
  readonly #deposits = new TimedUnits();
  /** Reserve spent recently, oldest first: when (ms) and how many units. */
  readonly #reserveSpent = new TimedUnits();
  #lastNow = -Infinity;

  constructor(options: RetryBudgetOptions, now: Clock) {
    const ttlSecs = options.ttlSecs ?? DEFAULT_RETRY_BUDGET.ttlSecs;
    const minRetriesPerSec = options.minRetriesPerSec ?? DEFAULT_RETRY_BUDGET.minRetriesPerSec;
    const percentCanRetry = options.percentCanRetry ?? DEFAULT_RETRY_BUDGET.percentCanRetry;
    checkOptions(ttlSecs, minRetriesPerSec, percentCanRetry);
    this.ttlSecs = ttlSecs;
    this.minRetriesPerSec = minRetriesPerSec;
    this.percentCanRetry = percentCanRetry;
    this.#now = now;
    this.#ttlMs = ttlSecs * 1000;
    // Finagle's arithmetic: with percentCanRetry = 0 requests earn nothing
    // and every retry costs 1 from the reserve.
    this.#depositUnits = percentCanRetry === 0 ? 0 : SCALE;
    this.#withdrawUnits = percentCanRetry === 0 ? 1 : Math.floor(SCALE / percentCanRetry);
    this.#reserveUnits = minRetriesPerSec * ttlSecs * this.#withdrawUnits;
  }

  /** Records an original request, earning it `percentCanRetry` retries for `ttlSecs`. */
  deposit(): void {
    const now = this.#tick();
    if (this.#depositUnits > 0) this.#deposits.add(now, this.#depositUnits);
  }

  /** Takes one retry from the budget: true if it was there (and is now spent), false if the retry must not happen. */
  tryWithdraw(): boolean {
    const now = this.#tick();
    const reserveLeft = this.#reserveUnits - this.#reserveSpent.total;
    if (this.#deposits.total + reserveLeft < this.#withdrawUnits) return false;
    const fromDeposits = this.#deposits.take(this.#withdrawUnits);
    const fromReserve = this.#withdrawUnits - fromDeposits;
    if (fromReserve > 0) this.#reserveSpent.add(now, fromReserve);
    return true;
  }

  /** Retries that could be made now (whole retries, ≥ 0). */
  get balance(): number {
    this.#tick();
    return Math.floor((this.#deposits.total + this.#reserveUnits - this.#reserveSpent.total) / this.#withdrawUnits);
  }

  /** Entries the books hold (deposits and spent reserve): at most one per millisecond of the ttl each. */
  get entries(): number {
    return this.#deposits.size + this.#reserveSpent.size;
  }

  /** Drops what has expired; a clock that steps back is treated as standing still, so the queues stay in order. */
  #tick(): number {
    const now = Math.max(this.#now(), this.#lastNow);
    this.#lastNow = now;
    this.#deposits.expire(now - this.#ttlMs);
    this.#reserveSpent.expire(now - this.#ttlMs);
    return now;
  }
}

/** Builds a retry budget from its config block (Linkerd's `retries.budget` or `requeueBudget`). */
export function retryBudgetFromConfig(config: RetryBudgetConfig, now: Clock): RetryBudget {
  return new RetryBudget(
    {
      ttlSecs: config.ttlSecs ?? DEFAULT_RETRY_BUDGET.ttlSecs,
      minRetriesPerSec: config.minRetriesPerSec ?? DEFAULT_RETRY_BUDGET.minRetriesPerSec,
      percentCanRetry: config.percentCanRetry ?? DEFAULT_RETRY_BUDGET.percentCanRetry,
    },
    now,
  );
}

function checkOptions(ttlSecs: number, minRetriesPerSec: number, percentCanRetry: number): void {
  const L = RETRY_BUDGET_LIMITS;
  if (!Number.isInteger(ttlSecs) || ttlSecs < L.minTtlSecs || ttlSecs > L.maxTtlSecs) {
    throw new RangeError(`retry budget: ttlSecs must be a whole number of seconds from ${L.minTtlSecs} to ${L.maxTtlSecs} (got ${ttlSecs})`);
  }
  if (!Number.isInteger(minRetriesPerSec) || minRetriesPerSec < 0 || minRetriesPerSec > L.maxMinRetriesPerSec) {
    throw new RangeError(`retry budget: minRetriesPerSec must be a whole number from 0 to ${L.maxMinRetriesPerSec} (got ${minRetriesPerSec})`);
  }
  if (!Number.isFinite(percentCanRetry) || percentCanRetry < 0 || percentCanRetry > L.maxPercentCanRetry) {
    throw new RangeError(`retry budget: percentCanRetry must be a number from 0 to ${L.maxPercentCanRetry} (got ${percentCanRetry})`);
  }
  if (percentCanRetry > 0 && percentCanRetry < L.minNonZeroPercentCanRetry) {
    throw new RangeError(`retry budget: percentCanRetry must be 0 or at least ${L.minNonZeroPercentCanRetry} (got ${percentCanRetry})`);
  }
}

/**
 * Integer amounts stamped with the time (ms) they were added, oldest first;
 * amounts added in the same millisecond share one entry, so at most one
 * entry per millisecond of the ttl is ever kept.
 */
class TimedUnits {
  #times: number[] = [];
  #units: number[] = [];
  #head = 0;
  #total = 0;

  get total(): number {
    return this.#total;
  }

  get size(): number {
    return this.#times.length - this.#head;
  }

  add(time: number, units: number): void {
    // Clocks give fractions of a millisecond: entries are per whole millisecond, or there would be one per request.
    const at = Math.floor(time);
    const last = this.#times.length - 1;
    if (last >= this.#head && this.#times[last] === at) {
      this.#units[last] = (this.#units[last] ?? 0) + units;
    } else {
      this.#times.push(at);
      this.#units.push(units);
    }
    this.#total += units;
  }

  /** Drops every entry added at or before `cutoff`. */
  expire(cutoff: number): void {
    while (this.#head < this.#times.length && (this.#times[this.#head] ?? Infinity) <= cutoff) {
      this.#total -= this.#units[this.#head] ?? 0;
      this.#head++;
    }
    this.#compact();
  }

  /** Takes up to `units` from the oldest entries; returns how many it took. */
  take(units: number): number {
    let taken = 0;
    while (taken < units && this.#head < this.#times.length) {
      const available = this.#units[this.#head] ?? 0;
      const want = units - taken;
      if (available > want) {
        this.#units[this.#head] = available - want;
        taken += want;
      } else {
        taken += available;
        this.#head++;
      }
    }
    this.#total -= taken;
    this.#compact();
    return taken;
  }

  /** Reclaims the consumed front of the arrays now and then, keeping pushes and pops amortised O(1). */
  #compact(): void {
    if (this.#head === this.#times.length) {
      this.#times = [];
      this.#units = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#times.length) {
      this.#times = this.#times.slice(this.#head);
      this.#units = this.#units.slice(this.#head);
      this.#head = 0;
    }
  }
}
