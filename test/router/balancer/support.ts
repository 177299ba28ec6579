// Test endpoints for the balancer suites: plain mutable objects standing in
// for the router's endpoint view.
import type { BalancedEndpoint } from "../../../router/balancer/index.ts";

export class TestEndpoint implements BalancedEndpoint {
  readonly key: string;
  weight: number;
  pending: number;
  up: boolean;

  constructor(key: string, weight = 1, pending = 0, up = true) {
    this.key = key;
    this.weight = weight;
    this.pending = pending;
    this.up = up;
  }

  available(): boolean {
    return this.up;
  }
}

export const endpoints = (...keys: string[]): TestEndpoint[] => keys.map((k) => new TestEndpoint(k));

/** How many times each key was picked over `n` picks. */
export function tally(n: number, pick: () => BalancedEndpoint | undefined): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const e = pick();
    const key = e?.key ?? "(none)";
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
