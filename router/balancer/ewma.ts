// `ewma`: power of two choices over peak-EWMA latency (Finagle's and Linkerd's
// `ewma`, as in "Beyond Round Robin"). Each endpoint's cost is a moving
// average of its response times that jumps up at once to any slower response
// and decays back over `decayTimeMs`; the load compared is cost × (pending + 1),
// so a slow or stuck endpoint is avoided long before least-loaded would.
import type { BalancedEndpoint, Balancer } from "./balancer.ts";
import { hasWeight } from "./balancer.ts";
import type { Random } from "../policy/clock.ts";
import { DEFAULT_MAX_EFFORT, checkMaxEffort, pickOfTwo } from "./p2c.ts";
import { WeightTables } from "./weights.ts";

/** Linkerd's `decayTimeMs` default: the time constant of the average (ms). */
export const DEFAULT_DECAY_TIME_MS = 10_000;

/**
 * The load of an endpoint that has never answered while a request to it is in
 * flight (Finagle's penalty): far above any real cost, so a new endpoint gets
 * one request at a time until it has answered once, and a new endpoint that
 * hangs costs one request, not a flood.
 */
export const NEW_ENDPOINT_PENALTY = 1e12;

export interface EwmaOptions {
  readonly maxEffort?: number;
  /** The moving average's time constant (ms, > 0). */
  readonly decayTimeMs?: number;
}

interface Cost {
  /** The average (ms) as of `stamp`. */
  value: number;
  /** When it was last updated (ms). */
  stamp: number;
}

export class EwmaBalancer implements Balancer {
  readonly kind = "ewma";
  readonly #maxEffort: number;
  readonly #decayTimeMs: number;
  readonly #random: Random;
  readonly #tables = new WeightTables();
  readonly #costs = new Map<string, Cost>();
  readonly #load = (endpoint: BalancedEndpoint, now: number): number => this.load(endpoint, now);

  constructor(options: EwmaOptions, random: Random) {
    this.#maxEffort = checkMaxEffort(options.maxEffort ?? DEFAULT_MAX_EFFORT);
    const decayTimeMs = options.decayTimeMs ?? DEFAULT_DECAY_TIME_MS;
    if (!Number.isFinite(decayTimeMs) || decayTimeMs <= 0) throw new RangeError(`ewma: decayTimeMs must be a number of ms > 0 (got ${decayTimeMs})`);
    this.#decayTimeMs = decayTimeMs;
    this.#random = random;
  }

  pick<E extends BalancedEndpoint>(endpoints: readonly E[], now: number): E | undefined {
    return pickOfTwo(this.#table(endpoints), now, this.#random, this.#maxEffort, false, this.#load);
  }

  pickAny<E extends BalancedEndpoint>(endpoints: readonly E[], now: number): E | undefined {
    return pickOfTwo(this.#table(endpoints), now, this.#random, this.#maxEffort, true, this.#load);
  }

  /**
   * Folds one response time in. Between samples the cost decays towards 0
   * with time constant τ = decayTimeMs; a sample above the decayed cost
   * replaces it (the "peak"), one below pulls it down by weight 1 − e^(−Δt/τ).
   * Finagle's `load` also feeds a zero sample every time the balancer looks,
   * so there the decay depends on how often it looks; here looking is a pure
   * read and the decay depends on time alone.
   */
  observe(key: string, rttMs: number, now: number): void {
    if (Number.isNaN(rttMs)) return;
    const rtt = Math.max(0, rttMs);
    const cost = this.#costs.get(key);
    if (cost === undefined) {
      this.#costs.set(key, { value: rtt, stamp: now });
      return;
    }
    const w = Math.exp(-Math.max(0, now - cost.stamp) / this.#decayTimeMs);
    const decayed = cost.value * w;
    cost.value = rtt > decayed ? rtt : decayed + rtt * (1 - w);
    cost.stamp = Math.max(now, cost.stamp);
  }

  /** The endpoint's current cost (ms), or undefined before its first response. */
  cost(key: string, now: number): number | undefined {
    const cost = this.#costs.get(key);
    if (cost === undefined) return undefined;
    return cost.value * Math.exp(-Math.max(0, now - cost.stamp) / this.#decayTimeMs);
  }

  /**
   * cost × (pending + 1) / weight: the expected wait of one more request. An
   * endpoint with no history is free while idle (so new endpoints are tried
   * at once) and costs the penalty while its first request is in flight. An
   * endpoint without weight takes no traffic: infinitely loaded.
   */
  load(endpoint: BalancedEndpoint, now: number): number {
    if (!hasWeight(endpoint)) return Infinity;
    const cost = this.cost(endpoint.key, now);
    if (cost === undefined) return endpoint.pending === 0 ? 0 : NEW_ENDPOINT_PENALTY + endpoint.pending;
    return (cost * (endpoint.pending + 1)) / endpoint.weight;
  }

  #table<E extends BalancedEndpoint>(endpoints: readonly E[]) {
    const { table, changed } = this.#tables.get(endpoints);
    if (changed && this.#costs.size > 0) {
      // Drop the history of endpoints that left; one that comes back later starts as new.
      const present = new Set(endpoints.map((e) => e.key));
      for (const key of this.#costs.keys()) if (!present.has(key)) this.#costs.delete(key);
    }
    return table;
  }
}
