// Failure accrual (Linkerd's `failureAccrual`, Finagle's FailureAccrualFactory):
// the per-endpoint circuit breaker. A policy decides when an endpoint has
// failed enough to be marked dead; the state machine keeps it out of the load
// balancer for a backoff delay, then lets exactly one probe request through.
import type { Backoff } from "./backoff.ts";
import { DEFAULT_ACCRUAL_BACKOFF, backoffFromConfig } from "./backoff.ts";
import type { Random } from "./clock.ts";
import type { FailureAccrualConfig } from "./config.ts";

/** `io.l5d.consecutiveFailures`' threshold when `failures` is not given (Linkerd's and Finagle's default). */
export const DEFAULT_CONSECUTIVE_FAILURES = 5;

/**
 * Decides when failures should mark an endpoint dead (Finagle's
 * FailureAccrualPolicy). Only results of requests sent while the endpoint was
 * alive reach it.
 */
export interface FailureAccrualPolicy {
  recordSuccess(now: number): void;
  /** Records a failure; true if the endpoint should now be marked dead. */
  markDeadOnFailure(now: number): boolean;
  /** The endpoint came back after a successful probe: start over with no history. */
  revived(now: number): void;
}

/** `io.l5d.consecutiveFailures`: dead after `failures` failures in a row; any success resets the count. */
export class ConsecutiveFailuresPolicy implements FailureAccrualPolicy {
  readonly failures: number;
  #run = 0;

  constructor(failures: number = DEFAULT_CONSECUTIVE_FAILURES) {
    if (!Number.isInteger(failures) || failures < 1) throw new RangeError(`consecutiveFailures: failures must be a whole number ≥ 1 (got ${failures})`);
    this.failures = failures;
  }

  recordSuccess(): void {
    this.#run = 0;
  }

  markDeadOnFailure(): boolean {
    this.#run++;
    return this.#run >= this.failures;
  }

  revived(): void {
    this.#run = 0;
  }
}

/**
 * Finagle's exponentially weighted moving average over a "stamp" that only
 * grows (a request count or a time in ms): each sample x at stamp s moves the
 * average by weight 1 − e^(−Δs / window). The first sample is taken as is.
 */
class Ema {
  readonly #window: number;
  #stamp: number | undefined;
  #value = 0;

  constructor(window: number) {
    this.#window = window;
  }

  update(stamp: number, x: number): number {
    if (this.#stamp === undefined) {
      this.#value = x;
    } else {
      const w = Math.exp(-Math.max(0, stamp - this.#stamp) / this.#window);
      this.#value = x * (1 - w) + this.#value * w;
    }
    this.#stamp = Math.max(stamp, this.#stamp ?? stamp);
    return this.#value;
  }

  reset(): void {
    this.#stamp = undefined;
    this.#value = 0;
  }
}

/**
 * The success-rate policies: an EWMA of successes (1) and failures (0); a
 * failure marks the endpoint dead when the average is below `successRate`,
 * but only once a full window of history exists, so one early failure cannot
 * eject a fresh endpoint.
 */
abstract class SuccessRatePolicy implements FailureAccrualPolicy {
  readonly successRate: number;
  readonly #ema: Ema;
  readonly #window: number;

  constructor(kind: string, successRate: number, window: number) {
    if (!Number.isFinite(successRate) || successRate < 0 || successRate > 1) throw new RangeError(`${kind}: successRate must be a number from 0 to 1 (got ${successRate})`);
    this.successRate = successRate;
    this.#ema = new Ema(window);
    this.#window = window;
  }

  /** The stamp of a result recorded now. */
  protected abstract stamp(now: number): number;
  protected abstract restart(now: number): void;

  recordSuccess(now: number): void {
    this.#ema.update(this.stamp(now), 1);
  }

  markDeadOnFailure(now: number): boolean {
    const stamp = this.stamp(now);
    const rate = this.#ema.update(stamp, 0);
    return stamp >= this.#window && rate < this.successRate;
  }

  revived(now: number): void {
    this.#ema.reset();
    this.restart(now);
  }
}

/** `io.l5d.successRate`: the success rate over about the last `requests` results. */
export class SuccessRatePerRequestsPolicy extends SuccessRatePolicy {
  #count = 0;

  constructor(successRate: number, requests: number) {
    if (!Number.isInteger(requests) || requests < 1) throw new RangeError(`successRate: requests must be a whole number ≥ 1 (got ${requests})`);
    super("successRate", successRate, requests);
  }

  protected stamp(): number {
    return ++this.#count;
  }

  protected restart(): void {
    this.#count = 0;
  }
}

/**
 * `io.l5d.successRateWindowed`: the success rate over about the last
 * `windowSecs` seconds. The window's clock starts at the first result recorded
 * (Finagle starts it when the client is built; with injected time there is no
 * such moment, and an endpoint with no traffic has no history to judge).
 */
export class SuccessRateWindowedPolicy extends SuccessRatePolicy {
  #start: number | undefined;

  constructor(successRate: number, windowSecs: number) {
    if (!Number.isFinite(windowSecs) || windowSecs <= 0) throw new RangeError(`successRateWindowed: window must be a number of seconds > 0 (got ${windowSecs})`);
    super("successRateWindowed", successRate, windowSecs * 1000);
  }

  protected stamp(now: number): number {
    this.#start ??= now;
    return now - this.#start;
  }

  protected restart(now: number): void {
    this.#start = now;
  }
}

/** `none`: never marks an endpoint dead. */
export class NeverMarkDeadPolicy implements FailureAccrualPolicy {
  recordSuccess(): void {}
  markDeadOnFailure(): boolean {
    return false;
  }
  revived(): void {}
}

/** Where an endpoint stands. */
export type AccrualState = "alive" | "dead" | "probation";

/** One request sent to the endpoint, to be reported back with its result. */
export interface AccrualAttempt {
  /** True if this request is the endpoint's one probation probe. */
  readonly probe: boolean;
  /** Which period of the endpoint's life the request was sent in (a new one starts at each dead-marking, revival and given-back probe); results from an earlier one are ignored. */
  readonly epoch: number;
}

/** Counters for the endpoint's metrics (Finagle's `failure_accrual` scope). */
export interface AccrualStats {
  /** Times it went from alive to dead. */
  readonly removals: number;
  /** Times a probe succeeded and it came back. */
  readonly revivals: number;
  /** Probe requests let through. */
  readonly probes: number;
  /** Total ms it was marked dead for. */
  readonly removedForMs: number;
}

/**
 * One endpoint's circuit breaker. alive → dead when the policy says so; dead
 * for the backoff's next delay; then probation, where `available` is true
 * until one request takes the probe. The probe's success revives it (and
 * restarts the backoff); its failure marks it dead again for the next delay.
 *
 * Like Finagle it fails open: it never rejects a request itself (in panic
 * mode the balancer may send to a dead endpoint); it only tells the balancer
 * what is available. Results are reported with the attempt `onRequest`
 * returned, so a request sent before the endpoint was marked dead, or a
 * panic-mode request sent while it is dead, cannot decide its fate; only the
 * probe does.
 */
export class FailureAccrual {
  readonly #policy: FailureAccrualPolicy;
  readonly #backoff: Backoff;
  #dead = false;
  #deadUntil = 0;
  #probeTaken = false;
  #epoch = 0;
  readonly #stats = { removals: 0, revivals: 0, probes: 0, removedForMs: 0 };

  constructor(policy: FailureAccrualPolicy, backoff: Backoff) {
    this.#policy = policy;
    this.#backoff = backoff;
  }

  state(now: number): AccrualState {
    if (!this.#dead) return "alive";
    return now < this.#deadUntil ? "dead" : "probation";
  }

  /** Whether the balancer may pick this endpoint: alive, or in probation with the probe not yet taken. */
  available(now: number): boolean {
    const state = this.state(now);
    return state === "alive" || (state === "probation" && !this.#probeTaken);
  }

  /** When a dead endpoint's probation starts (ms), or undefined when alive. */
  get deadUntil(): number | undefined {
    return this.#dead ? this.#deadUntil : undefined;
  }

  /** The current epoch: attempts carrying an earlier one are stale, and their results are ignored. */
  get epoch(): number {
    return this.#epoch;
  }

  get stats(): AccrualStats {
    return { ...this.#stats };
  }

  /** Call as a request is sent to the endpoint; in probation the first request becomes the probe. */
  onRequest(now: number): AccrualAttempt {
    const probe = this.state(now) === "probation" && !this.#probeTaken;
    if (probe) {
      this.#probeTaken = true;
      this.#stats.probes++;
    }
    return { probe, epoch: this.#epoch };
  }

  /** The request succeeded (by the response classifier). */
  recordSuccess(attempt: AccrualAttempt, now: number): void {
    if (attempt.epoch !== this.#epoch) return;
    if (attempt.probe) {
      this.#dead = false;
      this.#probeTaken = false;
      // Requests sent in panic mode while the endpoint was out become stale:
      // only requests sent while alive feed the policy.
      this.#epoch++;
      this.#stats.revivals++;
      this.#backoff.reset();
      this.#policy.revived(now);
      this.#policy.recordSuccess(now);
    } else if (!this.#dead) {
      this.#policy.recordSuccess(now);
    }
  }

  /** The request failed (by the response classifier). */
  recordFailure(attempt: AccrualAttempt, now: number): void {
    if (attempt.epoch !== this.#epoch) return;
    if (attempt.probe) {
      // A failed probe sends the endpoint straight back, whatever the policy
      // would say: one success is needed before the policy applies again.
      this.#markDead(now);
    } else if (!this.#dead && this.#policy.markDeadOnFailure(now)) {
      this.#markDead(now);
    }
  }

  /**
   * The request ended in a way that says nothing about the endpoint (the
   * client cancelled it): neither a success nor a failure. A probe is given
   * back, so the next request probes instead of the endpoint staying stuck.
   */
  recordIgnored(attempt: AccrualAttempt): void {
    if (attempt.epoch !== this.#epoch || !attempt.probe) return;
    this.#probeTaken = false;
    // A new epoch makes any late report from the given-back probe stale, so
    // only the next probe can decide. Nothing else of this epoch counts: while
    // dead or in probation only the probe's result does.
    this.#epoch++;
  }

  #markDead(now: number): void {
    // Like Finagle, a failed probe is not another removal, so removals and
    // revivals stay paired.
    if (!this.#dead) this.#stats.removals++;
    const delay = this.#backoff.next();
    this.#dead = true;
    this.#deadUntil = now + delay;
    this.#probeTaken = false;
    this.#epoch++;
    this.#stats.removedForMs += delay;
  }
}

/** Builds one endpoint's failure accrual from the client's `failureAccrual` block (absent: 5 consecutive failures, equal-jittered 5–300 s). */
export function failureAccrualFromConfig(config: FailureAccrualConfig | undefined, random: Random): FailureAccrual {
  const backoff = backoffFromConfig(config?.backoff ?? DEFAULT_ACCRUAL_BACKOFF, random);
  return new FailureAccrual(policyFromConfig(config), backoff);
}

function policyFromConfig(config: FailureAccrualConfig | undefined): FailureAccrualPolicy {
  if (config === undefined) return new ConsecutiveFailuresPolicy(DEFAULT_CONSECUTIVE_FAILURES);
  switch (config.kind) {
    case "io.l5d.consecutiveFailures":
      return new ConsecutiveFailuresPolicy(config.failures ?? DEFAULT_CONSECUTIVE_FAILURES);
    case "io.l5d.successRate":
      return new SuccessRatePerRequestsPolicy(config.successRate, config.requests);
    case "io.l5d.successRateWindowed":
      return new SuccessRateWindowedPolicy(config.successRate, config.window);
    case "none":
      return new NeverMarkDeadPolicy();
    default:
      return unreachable(config);
  }
}

function unreachable(value: never): never {
  throw new Error(`unknown failure accrual kind ${JSON.stringify(value)}`);
}
