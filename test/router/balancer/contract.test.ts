// The contract every balancer meets (one suite, run for p2c, ewma and
// roundRobin): picks only available endpoints with weight, finds one whenever
// one exists, ignores availability only in pickAny, and survives endpoints
// coming and going between any two picks.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Balancer } from "../../../router/balancer/index.ts";
import { EwmaBalancer, P2cBalancer, RoundRobinBalancer } from "../../../router/balancer/index.ts";
import { fcParams, seededRandom } from "../policy/support.ts";
import { TestEndpoint, endpoints, tally } from "./support.ts";

const BALANCERS: [string, (seed: number) => Balancer][] = [
  ["p2c", (s) => new P2cBalancer({}, seededRandom(s))],
  ["ewma", (s) => new EwmaBalancer({}, seededRandom(s))],
  ["roundRobin", () => new RoundRobinBalancer()],
];

const KEYS = ["a", "b", "c", "d", "e", "f", "g", "h"];

/** A snapshot drawn from a fixed pool of keys, so keys recur across snapshots as they do under discovery. */
const snapshot = fc
  .subarray(KEYS)
  .chain((keys) =>
    fc.tuple(
      ...keys.map((key) =>
        fc.record({
          key: fc.constant(key),
          weight: fc.constantFrom(1, 1, 1, 2, 0.5, 0, -1, Number.NaN),
          pending: fc.integer({ min: 0, max: 6 }),
          up: fc.boolean(),
        }),
      ),
    ),
  )
  .map((specs) => specs.map((s) => new TestEndpoint(s.key, s.weight, s.pending, s.up)));

const action = fc.oneof(
  { weight: 1, arbitrary: snapshot.map((list) => ({ op: "replace" as const, list })) },
  { weight: 4, arbitrary: fc.constant({ op: "pick" as const }) },
  { weight: 2, arbitrary: fc.constant({ op: "pickAny" as const }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("observe" as const), key: fc.constantFrom(...KEYS), rtt: fc.double({ min: -5, max: 5_000, noNaN: true }) }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 20_000 }).map((ms) => ({ op: "wait" as const, ms })) },
);

describe.each(BALANCERS)("the balancer contract: %s", (_name, make) => {
  it("picks only available endpoints with weight, and one whenever one exists; pickAny ignores availability but not weight (property)", () => {
    fc.assert(
      fc.property(fc.integer(), snapshot, fc.array(action, { maxLength: 60 }), (seed, first, actions) => {
        const balancer = make(seed);
        let list = first;
        let now = 0;
        for (const a of actions) {
          switch (a.op) {
            case "replace":
              list = a.list;
              break;
            case "wait":
              now += a.ms;
              break;
            case "observe":
              balancer.observe(a.key, a.rtt, now);
              break;
            case "pick": {
              const picked = balancer.pick(list, now);
              const eligible = list.filter((e) => e.weight > 0 && e.up);
              if (eligible.length === 0) expect(picked).toBeUndefined();
              else expect(eligible).toContain(picked);
              if (picked) picked.pending++; // as the router would
              break;
            }
            case "pickAny": {
              const picked = balancer.pickAny(list, now);
              const weighted = list.filter((e) => e.weight > 0);
              if (weighted.length === 0) expect(picked).toBeUndefined();
              else expect(weighted).toContain(picked);
              break;
            }
          }
          for (const e of list) expect(Number.isNaN(balancer.load(e, now))).toBe(false);
        }
      }),
      fcParams("balancer contract", 300),
    );
  });

  it("finds the one available endpoint among many unavailable ones, every time", () => {
    const list = Array.from({ length: 50 }, (_, i) => new TestEndpoint(`e${i}`, 1, 0, i === 37));
    const balancer = make(7);
    for (let i = 0; i < 200; i++) expect(balancer.pick(list, i)?.key).toBe("e37");
  });

  it("returns nothing for an empty set, and the only endpoint of a set of one", () => {
    const balancer = make(1);
    expect(balancer.pick([], 0)).toBeUndefined();
    expect(balancer.pickAny([], 0)).toBeUndefined();
    const [only] = endpoints("x");
    expect(balancer.pick([only!], 0)).toBe(only);
    only!.up = false;
    expect(balancer.pick([only!], 0)).toBeUndefined();
    expect(balancer.pickAny([only!], 0)).toBe(only);
  });

  it("spreads idle traffic over every endpoint, starving none", () => {
    const list = endpoints("a", "b", "c", "d");
    const balancer = make(3);
    const counts = tally(400, () => balancer.pick(list, 0));
    for (const key of ["a", "b", "c", "d"]) expect(counts[key]).toBeGreaterThan(60);
  });

  it("keeps working as endpoints are added and removed between picks", () => {
    const balancer = make(5);
    const [a, b, c] = endpoints("a", "b", "c") as [TestEndpoint, TestEndpoint, TestEndpoint];
    const seen = new Set<string>();
    for (let round = 0; round < 300; round++) {
      const list = round % 3 === 0 ? [a, b] : round % 3 === 1 ? [b, c] : [c, a, b];
      balancer.observe(list[0]!.key, 10, round);
      const picked = balancer.pick(list, round);
      expect(list).toContain(picked);
      seen.add(picked!.key);
    }
    expect([...seen].sort()).toEqual(["a", "b", "c"]);
  });
});
