// `p2c`, Linkerd's default balancer: power of two choices, least loaded.
// Draw two distinct endpoints at random (by weight) and send to the one with
// fewer requests in flight per unit of weight. Also the picking core that
// `ewma` shares, with its own load measure.
import type { BalancedEndpoint, Balancer } from "./balancer.ts";
import { hasWeight } from "./balancer.ts";
import type { Random } from "../policy/clock.ts";
import { WeightTable, WeightTables } from "./weights.ts";

/** Linkerd's `maxEffort`: how many times to draw again when a draw finds no available endpoint. */
export const DEFAULT_MAX_EFFORT = 5;

export interface P2cOptions {
  /** Draws after the first when neither candidate is available (≥ 0; Linkerd's default 5). */
  readonly maxEffort?: number;
}

export class P2cBalancer implements Balancer {
  readonly kind = "p2c";
  readonly #maxEffort: number;
  readonly #random: Random;
  readonly #tables = new WeightTables();

  constructor(options: P2cOptions, random: Random) {
    this.#maxEffort = checkMaxEffort(options.maxEffort ?? DEFAULT_MAX_EFFORT);
    this.#random = random;
  }

  pick<E extends BalancedEndpoint>(endpoints: readonly E[], now: number): E | undefined {
    return pickOfTwo(this.#tables.get(endpoints).table, now, this.#random, this.#maxEffort, false, leastLoaded);
  }

  pickAny<E extends BalancedEndpoint>(endpoints: readonly E[], now: number): E | undefined {
    return pickOfTwo(this.#tables.get(endpoints).table, now, this.#random, this.#maxEffort, true, leastLoaded);
  }

  observe(): void {}

  load(endpoint: BalancedEndpoint): number {
    return leastLoaded(endpoint);
  }
}

/**
 * Requests in flight per unit of weight, so a weight-2 endpoint takes twice
 * the concurrency before it looks as busy. An endpoint without weight takes no
 * traffic: infinitely loaded.
 */
function leastLoaded(endpoint: BalancedEndpoint): number {
  return hasWeight(endpoint) ? endpoint.pending / endpoint.weight : Infinity;
}

/**
 * The power-of-two-choices pick. Like Finagle, an available candidate beats
 * an unavailable one before loads are compared, and a draw with neither
 * available is retried up to `maxEffort` times. Unlike Finagle, which then
 * sends to an unavailable endpoint anyway, it falls back to drawing among
 * the available endpoints only (an O(n) scan, in the rare case most are
 * out), so an available endpoint is found whenever one exists; whether to
 * send to unavailable ones is the panic mode's decision, not luck's.
 */
export function pickOfTwo<E extends BalancedEndpoint>(
  table: WeightTable<E>,
  now: number,
  random: Random,
  maxEffort: number,
  ignoreAvailability: boolean,
  load: (endpoint: E, now: number) => number,
): E | undefined {
  const endpoints = table.endpoints;
  const usable = (e: E): boolean => ignoreAvailability || e.available(now);
  if (endpoints.length <= 1) {
    const only = endpoints[0];
    return only !== undefined && usable(only) ? only : undefined;
  }
  for (let attempt = 0; attempt <= maxEffort; attempt++) {
    const i = table.drawOne(random);
    const a = endpoints[i];
    const b = endpoints[table.drawOther(i, random)];
    if (a === undefined || b === undefined) break;
    const aUsable = usable(a);
    const bUsable = usable(b);
    if (aUsable && bUsable) return load(b, now) < load(a, now) ? b : a;
    if (aUsable) return a;
    if (bUsable) return b;
  }
  const available = endpoints.filter(usable);
  if (available.length === 0) return undefined;
  return pickOfTwo(new WeightTable(available), now, random, 0, true, load);
}

export function checkMaxEffort(maxEffort: number): number {
  if (!Number.isInteger(maxEffort) || maxEffort < 0) throw new RangeError(`load balancer: maxEffort must be a whole number ≥ 0 (got ${maxEffort})`);
  return maxEffort;
}
