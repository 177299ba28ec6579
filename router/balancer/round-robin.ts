// `roundRobin`: each available endpoint in turn, in proportion to weight
// (nginx's smooth weighted round robin), skipping endpoints failure accrual
// holds out. Deterministic: no randomness, no notion of load.
import type { BalancedEndpoint, Balancer } from "./balancer.ts";
import { hasWeight } from "./balancer.ts";
import { DEFAULT_MAX_EFFORT, checkMaxEffort } from "./p2c.ts";

export interface RoundRobinOptions {
  /**
   * Accepted for Linkerd compatibility and validated, but unused: Finagle's
   * round robin re-draws up to maxEffort times past unavailable endpoints,
   * while this one skips them all in its single pass.
   */
  readonly maxEffort?: number;
}

/**
 * Smooth weighted round robin: on each pick every candidate gains its weight
 * in credit, the one with the most credit wins and pays back the total. With
 * weights 5, 1, 1 the order is a a b a c a a, interleaved rather than
 * bursty; with equal weights it is plain rotation in snapshot order.
 */
export class RoundRobinBalancer implements Balancer {
  readonly kind = "roundRobin";
  readonly #credit = new Map<string, number>();
  #last: readonly BalancedEndpoint[] | undefined;

  constructor(options: RoundRobinOptions = {}) {
    checkMaxEffort(options.maxEffort ?? DEFAULT_MAX_EFFORT);
  }

  pick<E extends BalancedEndpoint>(endpoints: readonly E[], now: number): E | undefined {
    return this.#pick(endpoints, now, false);
  }

  pickAny<E extends BalancedEndpoint>(endpoints: readonly E[], now: number): E | undefined {
    return this.#pick(endpoints, now, true);
  }

  observe(): void {}

  /** Round robin ignores load; this reports the endpoint's credit, negated so that, as for other balancers, lower is picked sooner. */
  load(endpoint: BalancedEndpoint): number {
    return -(this.#credit.get(endpoint.key) ?? 0);
  }

  #pick<E extends BalancedEndpoint>(endpoints: readonly E[], now: number, ignoreAvailability: boolean): E | undefined {
    if (this.#last !== endpoints) {
      this.#last = endpoints;
      // Drop the credit of endpoints that left, so the map stays as large as the set.
      const present = new Set(endpoints.map((e) => e.key));
      for (const key of this.#credit.keys()) if (!present.has(key)) this.#credit.delete(key);
    }
    let best: E | undefined;
    let bestCredit = -Infinity;
    let total = 0;
    for (const e of endpoints) {
      if (!hasWeight(e) || (!ignoreAvailability && !e.available(now))) continue;
      const credit = (this.#credit.get(e.key) ?? 0) + e.weight;
      this.#credit.set(e.key, credit);
      total += e.weight;
      if (credit > bestCredit) {
        best = e;
        bestCredit = credit;
      }
    }
    if (best !== undefined) this.#credit.set(best.key, bestCredit - total);
    return best;
  }
}
