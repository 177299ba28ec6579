// roundRobin: plain rotation, smooth weighted interleaving, skipping
// unavailable endpoints, and sets that change between picks.
import { describe, expect, it } from "vitest";
import { RoundRobinBalancer } from "../../../router/balancer/index.ts";
import { TestEndpoint, endpoints } from "./support.ts";

const sequence = (b: RoundRobinBalancer, list: readonly TestEndpoint[], n: number): string =>
  Array.from({ length: n }, () => b.pick(list, 0)?.key ?? "-").join("");

describe("RoundRobinBalancer", () => {
  it("rotates through equal endpoints in order", () => {
    expect(sequence(new RoundRobinBalancer(), endpoints("a", "b", "c"), 7)).toBe("abcabca");
  });

  it("interleaves by weight (nginx's smooth weighted round robin)", () => {
    const list = [new TestEndpoint("a", 5), new TestEndpoint("b", 1), new TestEndpoint("c", 1)];
    expect(sequence(new RoundRobinBalancer(), list, 14)).toBe("aabacaa".repeat(2));
    const halves = [new TestEndpoint("x", 0.5), new TestEndpoint("y", 1)];
    expect(sequence(new RoundRobinBalancer(), halves, 6)).toBe("yxyyxy");
  });

  it("skips unavailable endpoints and endpoints without weight, and resumes them when they return", () => {
    const list = [new TestEndpoint("a"), new TestEndpoint("b", 1, 0, false), new TestEndpoint("c"), new TestEndpoint("z", 0)];
    const b = new RoundRobinBalancer();
    expect(sequence(b, list, 4)).toBe("acac");
    list[1]!.up = true;
    expect(sequence(b, list, 6)).toBe("abcabc");
  });

  it("handles endpoints joining and leaving between picks", () => {
    const b = new RoundRobinBalancer();
    const [a, bb, c, d] = endpoints("a", "b", "c", "d") as [TestEndpoint, TestEndpoint, TestEndpoint, TestEndpoint];
    expect(sequence(b, [a, bb], 2)).toBe("ab");
    expect(sequence(b, [a, bb, c], 3)).toBe("abc");
    expect(sequence(b, [bb, c, d], 6)).toBe("bcdbcd");
  });

  it("ignores availability in pickAny, and reports credit as load", () => {
    const list = [new TestEndpoint("a", 1, 0, false), new TestEndpoint("b", 1, 0, false)];
    const b = new RoundRobinBalancer();
    expect(b.pick(list, 0)).toBeUndefined();
    expect([b.pickAny(list, 0)?.key, b.pickAny(list, 0)?.key]).toEqual(["a", "b"]);
    expect(typeof b.load(list[0]!)).toBe("number");
  });

  it("validates Linkerd's maxEffort though it has no use for it", () => {
    expect(() => new RoundRobinBalancer({ maxEffort: -2 })).toThrow(RangeError);
  });
});
