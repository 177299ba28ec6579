// "Beyond round robin" replayed on a virtual clock: 10 backends, an open-loop
// client at 1000 req/s, one backend turned bad (50 ms slower, or stuck at 2 s
// against a 1 s timeout) for the middle half of the run. The same experiment
// as research/perf-anchors.md §6 (bench/lb.mjs) with the picker alone: no
// sockets, no failure accrual, no retries, so only the balancer differs.
// Deterministic: seeded randomness, virtual time. Prints its figures.
import { describe, expect, it } from "vitest";
import type { BalancedEndpoint, Balancer } from "../../../router/balancer/index.ts";
import { EwmaBalancer, P2cBalancer, RoundRobinBalancer } from "../../../router/balancer/index.ts";
import { seededRandom } from "../policy/support.ts";

const BACKENDS = 10;
const RATE_PER_MS = 1; // 1000 req/s
const WARMUP_MS = 3_000;
const RUN_MS = 20_000;
const BAD_FROM_MS = 5_000; // of the measured run
const BAD_TO_MS = 15_000;
const TIMEOUT_MS = 1_000;
const SEEDS = [1, 2, 3];

type Profile = "fast" | "buoyant";
type Scenario = "none" | "slow" | "stuck";
type Kind = "roundRobin" | "p2c" | "ewma";

/** Healthy latency: 10–11 ms ("fast"), or 160–175 ms like Buoyant's replayed production latencies. */
const healthy = (profile: Profile, r: number): number => (profile === "fast" ? 10 + r : 160 + 15 * r);

interface Result {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly successPercent: number;
  /** Share of the requests sent while backend 0 was bad that went to it (%). */
  readonly badSharePercent: number;
}

class SimEndpoint implements BalancedEndpoint {
  readonly key: string;
  readonly weight = 1;
  pending = 0;
  constructor(key: string) {
    this.key = key;
  }
  available(): boolean {
    return true;
  }
}

function makeBalancer(kind: Kind, seed: number): Balancer {
  const random = seededRandom(seed);
  switch (kind) {
    case "roundRobin":
      return new RoundRobinBalancer();
    case "p2c":
      return new P2cBalancer({}, random);
    case "ewma":
      return new EwmaBalancer({}, random);
  }
}

/** A binary min-heap of completions by time. */
class Completions {
  readonly #heap: { at: number; endpoint: SimEndpoint; rtt: number }[] = [];
  get size(): number {
    return this.#heap.length;
  }
  peek(): number {
    return this.#heap[0]?.at ?? Infinity;
  }
  push(item: { at: number; endpoint: SimEndpoint; rtt: number }): void {
    const h = this.#heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= h[i]!.at) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }
  pop(): { at: number; endpoint: SimEndpoint; rtt: number } {
    const h = this.#heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.at < h[m]!.at) m = l;
        if (r < h.length && h[r]!.at < h[m]!.at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}

function simulate(kind: Kind, profile: Profile, scenario: Scenario, seed: number): Result {
  const balancer = makeBalancer(kind, seed);
  const latencyRandom = seededRandom(seed * 7919 + 17);
  const endpoints = Array.from({ length: BACKENDS }, (_, i) => new SimEndpoint(`backend-${i}`));
  const completions = new Completions();
  const latencies: number[] = [];
  let failures = 0;
  let sentWhileBad = 0;
  let sentToBadWhileBad = 0;

  const settle = (until: number): void => {
    while (completions.size > 0 && completions.peek() <= until) {
      const done = completions.pop();
      done.endpoint.pending--;
      // Every attempt's elapsed time is observed, a timeout's included.
      balancer.observe(done.endpoint.key, done.rtt, done.at);
    }
  };

  const total = WARMUP_MS + RUN_MS;
  for (let k = 0; k < total * RATE_PER_MS; k++) {
    const now = k / RATE_PER_MS;
    settle(now);
    const endpoint = balancer.pick(endpoints, now);
    if (endpoint === undefined) throw new Error("no endpoint picked though all are available");
    endpoint.pending++;
    const t = now - WARMUP_MS;
    const bad = scenario !== "none" && t >= BAD_FROM_MS && t < BAD_TO_MS;
    const toBad = bad && endpoint.key === "backend-0";
    let latency = healthy(profile, latencyRandom());
    if (toBad) latency = scenario === "slow" ? latency + 50 : 2_000;
    const timedOut = latency > TIMEOUT_MS;
    const rtt = timedOut ? TIMEOUT_MS : latency;
    completions.push({ at: now + rtt, endpoint, rtt });
    if (t < 0) continue;
    if (bad) {
      sentWhileBad++;
      if (toBad) sentToBadWhileBad++;
    }
    if (timedOut) failures++;
    else latencies.push(latency);
  }
  settle(Infinity);

  // Failures rank as the worst latencies, as in bench/lb.mjs.
  const measured = RUN_MS * RATE_PER_MS;
  const sorted = latencies.sort((a, b) => a - b);
  const percentile = (p: number): number => {
    const rank = Math.ceil((p / 100) * measured) - 1;
    return rank < sorted.length ? sorted[rank]! : Infinity;
  };
  return {
    p50: percentile(50),
    p99: percentile(99),
    p999: percentile(99.9),
    successPercent: (100 * (measured - failures)) / measured,
    badSharePercent: sentWhileBad === 0 ? 0 : (100 * sentToBadWhileBad) / sentWhileBad,
  };
}

const KINDS: readonly Kind[] = ["roundRobin", "p2c", "ewma"];
const PROFILES: readonly Profile[] = ["fast", "buoyant"];
const SCENARIOS: readonly Scenario[] = ["none", "slow", "stuck"];

/** Every run, keyed `${profile}/${scenario}/${kind}/${seed}`, computed once for all the tests below. */
const results = new Map<string, Result>();
for (const profile of PROFILES)
  for (const scenario of SCENARIOS) for (const kind of KINDS) for (const seed of SEEDS) results.set(`${profile}/${scenario}/${kind}/${seed}`, simulate(kind, profile, scenario, seed));
const result = (profile: Profile, scenario: Scenario, kind: Kind, seed: number): Result => results.get(`${profile}/${scenario}/${kind}/${seed}`)!;

const fmt = (ms: number): string => (ms === Infinity ? "fail" : ms.toFixed(1));
for (const profile of PROFILES) {
  const rows = [`simulated balancers, ${profile} backends (seed ${SEEDS[0]}; ms; failures rank worst)`];
  rows.push("balancer    | fast p99 | slow p99 | slow p99.9 | slow: % to bad | stuck success % | stuck p99 | stuck: % to bad");
  for (const kind of KINDS) {
    const none = result(profile, "none", kind, SEEDS[0]!);
    const slow = result(profile, "slow", kind, SEEDS[0]!);
    const stuck = result(profile, "stuck", kind, SEEDS[0]!);
    rows.push(
      `${kind.padEnd(11)} | ${fmt(none.p99).padStart(8)} | ${fmt(slow.p99).padStart(8)} | ${fmt(slow.p999).padStart(10)} | ${slow.badSharePercent.toFixed(2).padStart(14)} | ${stuck.successPercent.toFixed(3).padStart(15)} | ${fmt(stuck.p99).padStart(9)} | ${stuck.badSharePercent.toFixed(2).padStart(15)}`,
    );
  }
  console.log(rows.join("\n"));
}

describe.each(PROFILES)("balancers in simulation, %s backends", (profile) => {
  const slowFloor = profile === "fast" ? 60 : 210; // the slow backend's fastest answer

  it.each(SEEDS)("with all backends healthy, every balancer succeeds always and keeps p99 at the healthy latency (seed %i)", (seed) => {
    for (const kind of KINDS) {
      const r = result(profile, "none", kind, seed);
      expect(r.successPercent, kind).toBe(100);
      expect(r.p99, kind).toBeLessThan(profile === "fast" ? 11 : 175);
    }
  });

  it.each(SEEDS)("with one backend 50 ms slower: round robin's p99 is the slow backend's latency; ewma sends it the least (seed %i)", (seed) => {
    const rr = result(profile, "slow", "roundRobin", seed);
    const p2c = result(profile, "slow", "p2c", seed);
    const ewma = result(profile, "slow", "ewma", seed);
    // Round robin sends exactly its 10 % to the slow backend, 5 % of the run: p99 lands on it.
    expect(rr.badSharePercent).toBeCloseTo(10, 1);
    expect(rr.p99).toBeGreaterThanOrEqual(slowFloor);
    expect(ewma.badSharePercent).toBeLessThan(p2c.badSharePercent);
    expect(p2c.badSharePercent).toBeLessThan(rr.badSharePercent);
  });

  if (profile === "fast") {
    it.each(SEEDS)("with one backend 50 ms slower (6× the others): ewma keeps p99 at the healthy p99 (seed %i)", (seed) => {
      const ewma = result(profile, "slow", "ewma", seed);
      const healthyP99 = result(profile, "none", "ewma", seed).p99;
      // Peak EWMA keeps the slow backend well under 1 % of the run, so p99
      // and even p99.9 stay with the fast ones (perf-anchors §6 goal: p99 ≤ 2× all-fast).
      expect(ewma.badSharePercent).toBeLessThan(0.5);
      expect(ewma.p99).toBeLessThanOrEqual(2 * healthyP99);
      expect(ewma.p999).toBeLessThan(slowFloor);
      // Least loaded alone cannot: p2c's p99 sits at the slow backend too.
      expect(result(profile, "slow", "p2c", seed).p99).toBeGreaterThanOrEqual(slowFloor);
    });
  } else {
    it.each(SEEDS)("with one backend 50 ms slower (+30 %): ewma cuts its share but, by design, not below the p99 line (seed %i)", (seed) => {
      // cost × (pending + 1) equalises expected wait: 217 ms × 14 in flight ≈
      // 167 ms × 18, so the slow backend keeps about 6 % of the traffic. The
      // perf-anchors goal "p99 < 215 ms" is out of reach for peak EWMA here;
      // this pins the behaviour so a change to it is noticed.
      const ewma = result(profile, "slow", "ewma", seed);
      expect(ewma.badSharePercent).toBeGreaterThan(3);
      expect(ewma.badSharePercent).toBeLessThan(8);
    });
  }

  it.each(SEEDS)("with one backend stuck past the 1 s timeout: success rate orders roundRobin < p2c < ewma (seed %i)", (seed) => {
    const rr = result(profile, "stuck", "roundRobin", seed);
    const p2c = result(profile, "stuck", "p2c", seed);
    const ewma = result(profile, "stuck", "ewma", seed);
    // Buoyant measured about 95 %, 99 % and 99.9 %.
    expect(rr.successPercent).toBeCloseTo(95, 1);
    expect(p2c.successPercent).toBeGreaterThan(rr.successPercent);
    expect(p2c.successPercent).toBeGreaterThanOrEqual(98.5);
    expect(ewma.successPercent).toBeGreaterThan(p2c.successPercent);
    // 99.9 % as Buoyant measured with fast backends; with 17 requests in flight
    // per healthy backend the stuck one still wins a pick whenever it holds
    // fewer than 3 (1000 ms × 3 ≈ 167 ms × 18), so about 0.5 % of the window fails.
    expect(ewma.successPercent).toBeGreaterThanOrEqual(profile === "fast" ? 99.9 : 99.5);
  });
});
