// Weighted random draws over an endpoint snapshot: one endpoint, or two
// distinct ones, with probability proportional to weight. Built once per
// snapshot (O(n)), then each draw is O(log n), or O(1) when all weights are
// equal, which is the common case.
import type { BalancedEndpoint } from "./balancer.ts";
import { hasWeight } from "./balancer.ts";
import type { Random } from "../policy/clock.ts";

export class WeightTable<E extends BalancedEndpoint> {
  /** The endpoints with weight, in snapshot order. */
  readonly endpoints: readonly E[];
  /** Running totals of their weights. */
  readonly #cumulative: Float64Array;
  readonly #uniform: boolean;

  constructor(all: readonly E[]) {
    const endpoints = all.filter(hasWeight);
    this.endpoints = endpoints;
    this.#cumulative = new Float64Array(endpoints.length);
    let total = 0;
    let uniform = true;
    endpoints.forEach((e, i) => {
      total += e.weight;
      this.#cumulative[i] = total;
      if (e.weight !== endpoints[0]?.weight) uniform = false;
    });
    this.#uniform = uniform;
  }

  get size(): number {
    return this.endpoints.length;
  }

  /** The index of one endpoint drawn by weight (the table must not be empty). */
  drawOne(random: Random): number {
    const n = this.endpoints.length;
    if (this.#uniform) return Math.min(n - 1, Math.floor(random() * n));
    return this.#find(random() * this.#total());
  }

  /** The index of a second endpoint drawn by weight from all but `first` (the table must hold two or more). */
  drawOther(first: number, random: Random): number {
    const n = this.endpoints.length;
    if (this.#uniform) {
      const k = Math.min(n - 2, Math.floor(random() * (n - 1)));
      return k >= first ? k + 1 : k;
    }
    // Draw from the total without `first`'s share, then step over its interval.
    const before = first === 0 ? 0 : (this.#cumulative[first - 1] ?? 0);
    const width = (this.#cumulative[first] ?? 0) - before;
    let u = random() * (this.#total() - width);
    if (u >= before) u += width;
    const found = this.#find(u);
    // Rounding can land on `first` only at its exact boundary; step to a neighbour.
    if (found !== first) return found;
    return first + 1 < n ? first + 1 : first - 1;
  }

  #total(): number {
    return this.#cumulative[this.#cumulative.length - 1] ?? 0;
  }

  /** The first index whose running total exceeds u (zero-weight entries were filtered out, so it has weight). */
  #find(u: number): number {
    let lo = 0;
    let hi = this.#cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#cumulative[mid] ?? 0) > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** Weight tables cached per snapshot array (snapshots are never mutated; see `Balancer`). */
export class WeightTables {
  readonly #tables = new WeakMap<readonly BalancedEndpoint[], WeightTable<BalancedEndpoint>>();
  #last: readonly BalancedEndpoint[] | undefined;

  /**
   * The table for a snapshot, and whether the snapshot is new since the last
   * call (the moment to drop state kept for keys that left).
   */
  get<E extends BalancedEndpoint>(endpoints: readonly E[]): { readonly table: WeightTable<E>; readonly changed: boolean } {
    let table = this.#tables.get(endpoints);
    if (table === undefined) {
      table = new WeightTable<BalancedEndpoint>(endpoints);
      this.#tables.set(endpoints, table);
    }
    const changed = this.#last !== endpoints;
    this.#last = endpoints;
    // The table holds exactly the endpoints of this array, so it is a table of E.
    return { table: table as WeightTable<E>, changed };
  }
}
