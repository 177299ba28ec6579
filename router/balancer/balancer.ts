// The load balancer contract: the endpoint view the router's concrete tier
// hands over on every pick, the interface every balancer implements, and
// the panic rule for when failure accrual has marked endpoints unavailable.

/**
 * One endpoint as a balancer sees it. The router owns these: `pending` and
 * `available` are read live on every pick, so they must be cheap.
 */
export interface BalancedEndpoint {
  /** Stable identity across discovery updates (e.g. "10.0.0.7:8080"): balancer state is kept by key. */
  readonly key: string;
  /** Relative share of traffic from discovery (default 1). 0, negative or non-finite: no traffic at all. */
  readonly weight: number;
  /** Requests in flight to this endpoint now. */
  readonly pending: number;
  /** False while failure accrual holds the endpoint out (dead, or in probation with its probe taken). */
  available(now: number): boolean;
}

/** The balancer kinds, by Linkerd's names. */
export type BalancerKind = "p2c" | "ewma" | "roundRobin";

/**
 * Picks an endpoint for each request. Balancers are pure and synchronous:
 * time comes in as `now` (ms, monotonic) and randomness from the source they
 * were built with.
 *
 * The endpoint arrays are snapshots: the router passes a new array whenever
 * the set or a weight changes (balancers cache per-array work, such as weight
 * tables, by identity), and may do so between any two picks. State kept per
 * endpoint (latency averages, round-robin credit) follows the `key`, and is
 * dropped for keys no longer present when a new array arrives.
 */
export interface Balancer {
  readonly kind: BalancerKind;
  /** An available endpoint, or undefined when none is (what then is the caller's choice: see `pickWithPanic`). */
  pick<E extends BalancedEndpoint>(endpoints: readonly E[], now: number): E | undefined;
  /** Like `pick` but ignoring availability ("route to all", for panic mode); undefined only when no endpoint has weight. */
  pickAny<E extends BalancedEndpoint>(endpoints: readonly E[], now: number): E | undefined;
  /**
   * Reports how long one request to the endpoint took (ms), whatever its
   * result: a failure's or timeout's elapsed time counts too, since that is
   * what makes a stuck endpoint look slow. Only `ewma` uses it.
   */
  observe(key: string, rttMs: number, now: number): void;
  /** The load the balancer compares endpoints by (lower is better): for the admin page and tests. */
  load(endpoint: BalancedEndpoint, now: number): number;
}

/**
 * What to do when failure accrual has marked endpoints unavailable:
 * - `"never"`: fail fast; no pick when none is available (the router answers 503).
 * - `"whenNoneAvailable"`: Finagle and Linkerd 1's behaviour: when every
 *   endpoint is marked dead, balance over all of them anyway (fail open).
 * - `{ belowPercent }`: Envoy's panic threshold: balance over all endpoints
 *   whenever fewer than this percentage (0–100) is available, so that a few
 *   survivors are not crushed by the whole load (Envoy's default is 50).
 */
export type PanicMode = "never" | "whenNoneAvailable" | { readonly belowPercent: number };

/** Linkerd 1's behaviour. */
export const DEFAULT_PANIC_MODE: PanicMode = "whenNoneAvailable";

/** Picks under a panic mode: `pick`, falling back to `pickAny` ("route to all") when the mode says so. */
export function pickWithPanic<E extends BalancedEndpoint>(balancer: Balancer, endpoints: readonly E[], now: number, panic: PanicMode): E | undefined {
  if (panic === "never") return balancer.pick(endpoints, now);
  if (panic === "whenNoneAvailable") return balancer.pick(endpoints, now) ?? balancer.pickAny(endpoints, now);
  let weighted = 0;
  let available = 0;
  for (const e of endpoints) {
    if (!hasWeight(e)) continue;
    weighted++;
    if (e.available(now)) available++;
  }
  if (weighted > 0 && (available * 100) / weighted < panic.belowPercent) return balancer.pickAny(endpoints, now);
  return balancer.pick(endpoints, now);
}

/** Whether an endpoint may receive traffic at all. */
export function hasWeight(endpoint: BalancedEndpoint): boolean {
  return Number.isFinite(endpoint.weight) && endpoint.weight > 0;
}
