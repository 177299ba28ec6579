// p2c: two distinct candidates drawn by weight, the less loaded per unit of
// weight wins, maxEffort re-draws, and the share weights give when idle.
import { describe, expect, it } from "vitest";
import { P2cBalancer } from "../../../router/balancer/index.ts";
import { scriptedRandom, seededRandom } from "../policy/support.ts";
import { TestEndpoint, endpoints, tally } from "./support.ts";

describe("P2cBalancer", () => {
  it("draws two distinct endpoints and sends to the one with fewer requests in flight", () => {
    const [a, b, c] = endpoints("a", "b", "c") as [TestEndpoint, TestEndpoint, TestEndpoint];
    a.pending = 3;
    b.pending = 1;
    // First draw 0.0 → a; second draw 0.0 over the other two → b; b is less loaded.
    expect(new P2cBalancer({}, scriptedRandom(0, 0)).pick([a, b, c], 0)).toBe(b);
    // First draw 0.99 → c; second 0.0 → a; c (idle) wins.
    expect(new P2cBalancer({}, scriptedRandom(0.99, 0)).pick([a, b, c], 0)).toBe(c);
  });

  it("keeps the first candidate on a tie", () => {
    const [a, b] = endpoints("a", "b");
    expect(new P2cBalancer({}, scriptedRandom(0.5, 0)).pick([a!, b!], 0)).toBe(b);
  });

  it("compares load per unit of weight", () => {
    const heavy = new TestEndpoint("heavy", 4, 6); // 1.5 per unit
    const light = new TestEndpoint("light", 1, 2); // 2 per unit
    const balancer = new P2cBalancer({}, seededRandom(1));
    for (let i = 0; i < 50; i++) expect(balancer.pick([heavy, light], 0)).toBe(heavy);
  });

  it("never picks the busier of two endpoints, since both are always drawn", () => {
    const [idle, busy] = [new TestEndpoint("idle"), new TestEndpoint("busy", 1, 100)];
    const balancer = new P2cBalancer({}, seededRandom(2));
    for (let i = 0; i < 500; i++) expect(balancer.pick([busy, idle], 0)).toBe(idle);
  });

  it("prefers an available candidate to an unavailable one whatever their loads", () => {
    const down = new TestEndpoint("down", 1, 0, false);
    const busy = new TestEndpoint("busy", 1, 50);
    expect(new P2cBalancer({}, scriptedRandom(0, 0)).pick([down, busy], 0)).toBe(busy);
  });

  it("re-draws up to maxEffort times, then draws among the available endpoints only", () => {
    const list = Array.from({ length: 10 }, (_, i) => new TestEndpoint(`e${i}`, 1, 0, i === 9));
    // maxEffort 1: two draws of (e0, e1), both down; then the fallback has one candidate and draws nothing.
    expect(new P2cBalancer({ maxEffort: 1 }, scriptedRandom(0, 0, 0, 0)).pick(list, 0)).toBe(list[9]);
    // maxEffort 0: one draw only.
    expect(new P2cBalancer({ maxEffort: 0 }, scriptedRandom(0, 0)).pick(list, 0)).toBe(list[9]);
    // A draw that finds e9 stops there: (e9, e0).
    expect(new P2cBalancer({ maxEffort: 5 }, scriptedRandom(0.95, 0)).pick(list, 0)).toBe(list[9]);
  });

  it("shares idle traffic in proportion to weight", () => {
    const list = [new TestEndpoint("a", 3), new TestEndpoint("b", 1)];
    const balancer = new P2cBalancer({}, seededRandom(4));
    const counts = tally(20_000, () => balancer.pick(list, 0));
    // Idle, the first candidate wins the tie; it is drawn by weight: 3/4.
    expect(counts["a"]! / 20_000).toBeCloseTo(0.75, 1);
  });

  it("draws two distinct candidates under uneven weights too", () => {
    // Whatever the first draw lands on, the other must be the other endpoint.
    const a = new TestEndpoint("a", 1000, 5);
    const b = new TestEndpoint("b", 0.001, 0);
    const balancer = new P2cBalancer({}, seededRandom(5));
    for (let i = 0; i < 200; i++) expect(balancer.pick([a, b], 0)).toBe(b);
  });

  it("ignores endpoints without weight", () => {
    const list = [new TestEndpoint("zero", 0), new TestEndpoint("neg", -1), new TestEndpoint("nan", Number.NaN), new TestEndpoint("ok", 1, 9)];
    const balancer = new P2cBalancer({}, seededRandom(6));
    for (let i = 0; i < 50; i++) expect(balancer.pickAny(list, 0)?.key).toBe("ok");
    expect(balancer.load(list[0]!)).toBe(Infinity);
  });

  it("refuses a negative or fractional maxEffort", () => {
    expect(() => new P2cBalancer({ maxEffort: -1 }, Math.random)).toThrow(/maxEffort must be a whole number ≥ 0 \(got -1\)/);
    expect(() => new P2cBalancer({ maxEffort: 1.5 }, Math.random)).toThrow(RangeError);
  });
});
