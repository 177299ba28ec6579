// Shared by the policy and balancer tests: the fast-check seed (printed, and
// replayable with FC_SEED=<n>), a seeded random source and a virtual clock.
import type fc from "fast-check";

export const seed = process.env["FC_SEED"] === undefined ? Date.now() ^ Math.floor(Math.random() * 0x7fffffff) : Number(process.env["FC_SEED"]);

/** fast-check parameters with the shared seed; each suite prints it once. */
export function fcParams(suite: string, numRuns: number): fc.Parameters<unknown> {
  if (!printed.has(suite)) {
    printed.add(suite);
    console.log(`${suite} property tests: seed ${seed} (replay with FC_SEED=${seed})`);
  }
  return { seed, numRuns };
}
const printed = new Set<string>();

/** mulberry32: a small, fast, seeded generator of numbers in [0, 1). */
export function seededRandom(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random source that replays the given values in order, then fails loudly. */
export function scriptedRandom(...values: number[]): () => number {
  let i = 0;
  return () => {
    const v = values[i++];
    if (v === undefined) throw new Error(`scripted random ran out after ${values.length} values`);
    return v;
  };
}

/** A virtual clock (ms) that only moves when told to. */
export class VirtualClock {
  #now: number;
  constructor(start = 0) {
    this.#now = start;
  }
  readonly now = (): number => this.#now;
  advance(ms: number): void {
    this.#now += ms;
  }
  set(ms: number): void {
    this.#now = ms;
  }
}
