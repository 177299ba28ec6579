// ewma: the peak-EWMA cost (jumps to peaks, decays with decayTimeMs), load =
// cost × (pending + 1) / weight, the new-endpoint penalty, and history kept
// by key across snapshots.
import { describe, expect, it } from "vitest";
import { EwmaBalancer, NEW_ENDPOINT_PENALTY } from "../../../router/balancer/index.ts";
import { seededRandom } from "../policy/support.ts";
import { TestEndpoint } from "./support.ts";

const E = Math.E;

describe("EwmaBalancer", () => {
  it("takes a first sample as is, decays it towards 0 with time constant decayTimeMs", () => {
    const b = new EwmaBalancer({ decayTimeMs: 10_000 }, Math.random);
    expect(b.cost("a", 0)).toBeUndefined();
    b.observe("a", 100, 0);
    expect(b.cost("a", 0)).toBe(100);
    expect(b.cost("a", 10_000)).toBeCloseTo(100 / E, 9);
    expect(b.cost("a", 20_000)).toBeCloseTo(100 / E ** 2, 9);
  });

  it("jumps to a sample above the decayed cost, and moves towards a lower one by 1 − e^(−Δt/τ)", () => {
    const b = new EwmaBalancer({ decayTimeMs: 10_000 }, Math.random);
    b.observe("a", 100, 0);
    b.observe("a", 50, 10_000); // decayed 36.8 < 50: peak
    expect(b.cost("a", 10_000)).toBe(50);
    b.observe("a", 10, 10_000); // no time passed: weight 0
    expect(b.cost("a", 10_000)).toBe(50);
    b.observe("a", 10, 20_000); // decayed 18.39, plus 10 × (1 − 1/e)
    expect(b.cost("a", 20_000)).toBeCloseTo(50 / E + 10 * (1 - 1 / E), 9);
  });

  it("does not change a cost by looking at it", () => {
    const b = new EwmaBalancer({}, Math.random);
    b.observe("a", 80, 0);
    const e = new TestEndpoint("a");
    for (let t = 0; t < 5_000; t += 10) b.load(e, t);
    b.observe("a", 10, 5_000);
    const fresh = new EwmaBalancer({}, Math.random);
    fresh.observe("a", 80, 0);
    fresh.observe("a", 10, 5_000);
    expect(b.cost("a", 5_000)).toBe(fresh.cost("a", 5_000));
  });

  it("loads an endpoint by cost × (pending + 1) / weight", () => {
    const b = new EwmaBalancer({}, Math.random);
    b.observe("a", 20, 0);
    expect(b.load(new TestEndpoint("a", 1, 0), 0)).toBe(20);
    expect(b.load(new TestEndpoint("a", 1, 4), 0)).toBe(100);
    expect(b.load(new TestEndpoint("a", 2, 4), 0)).toBe(50);
  });

  it("tries a new endpoint at once, but only one request at a time until it has answered", () => {
    const b = new EwmaBalancer({}, Math.random);
    expect(b.load(new TestEndpoint("new", 1, 0), 0)).toBe(0);
    expect(b.load(new TestEndpoint("new", 1, 1), 0)).toBe(NEW_ENDPOINT_PENALTY + 1);
    const fresh = new TestEndpoint("new");
    const known = new TestEndpoint("known", 1, 3);
    b.observe("known", 500, 0);
    expect(b.pick([known, fresh], 0)).toBe(fresh);
    fresh.pending = 1;
    expect(b.pick([known, fresh], 0)).toBe(known);
  });

  it("sends to the faster endpoint until the queue on it outweighs the latency gap", () => {
    const fast = new TestEndpoint("fast");
    const slow = new TestEndpoint("slow");
    const b = new EwmaBalancer({}, seededRandom(1));
    b.observe("fast", 10, 0);
    b.observe("slow", 60, 0);
    for (let i = 0; i < 20; i++) expect(b.pick([fast, slow], 0)).toBe(fast);
    fast.pending = 6; // 10 × 7 = 70 > 60 × 1
    expect(b.pick([fast, slow], 0)).toBe(slow);
  });

  it("observes failures' and timeouts' elapsed time like any other, so a stuck endpoint is avoided", () => {
    const b = new EwmaBalancer({}, seededRandom(2));
    const ok = new TestEndpoint("ok", 1, 10);
    const stuck = new TestEndpoint("stuck");
    b.observe("ok", 10, 0);
    b.observe("stuck", 1_000, 0); // a 1 s timeout
    // 10 ms × 11 in flight = 110 < 1000: the idle stuck endpoint still loses.
    for (let i = 0; i < 20; i++) expect(b.pick([ok, stuck], 0)).toBe(ok);
  });

  it("ignores NaN and clamps negative samples to 0", () => {
    const b = new EwmaBalancer({}, Math.random);
    b.observe("a", Number.NaN, 0);
    expect(b.cost("a", 0)).toBeUndefined();
    b.observe("a", -5, 0);
    expect(b.cost("a", 0)).toBe(0);
  });

  it("drops the history of endpoints that left when a new snapshot arrives", () => {
    const b = new EwmaBalancer({}, seededRandom(3));
    const [x, y] = [new TestEndpoint("x"), new TestEndpoint("y")];
    b.observe("x", 10, 0);
    b.observe("y", 10, 0);
    b.pick([x, y], 0);
    expect(b.cost("y", 0)).toBe(10);
    b.pick([x], 1);
    expect(b.cost("y", 1)).toBeUndefined();
    expect(b.cost("x", 1)).toBeCloseTo(10, 2);
  });

  it("refuses a decay time that is not positive", () => {
    expect(() => new EwmaBalancer({ decayTimeMs: 0 }, Math.random)).toThrow(/decayTimeMs must be a number of ms > 0 \(got 0\)/);
  });
});
