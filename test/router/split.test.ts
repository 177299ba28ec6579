// Choosing a weighted union's branch: points walk [0, 1) by the golden
// ratio, so any run of requests (and every second one) splits within a few
// requests of the weights, where independent random draws wander by
// percents; nested unions and alternates pick as the tree says.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NameTree, Path } from "../../dtab/index.ts";
import type { BoundLeaf } from "../../namer/interpreter/interpreter.ts";
import { pickLeaf, SplitSequence } from "../../router/logical/split.ts";

function leaf(name: string): NameTree<BoundLeaf> {
  return NameTree.leaf({ id: Path.of(name), residual: Path.empty, addr: { type: "bound", addrs: [], meta: {} } });
}

/** Which leaf each of `n` points from `seq` picks, by name. */
function picks(tree: NameTree<BoundLeaf>, seq: SplitSequence, n: number): string[] {
  return Array.from({ length: n }, () => {
    const picked = pickLeaf(tree, seq.next());
    return typeof picked === "string" ? picked : picked.id.show.slice(1);
  });
}

const count = (names: readonly string[], name: string): number => names.filter((x) => x === name).length;

describe("weighted union splits", () => {
  it("give a 70/30 union its shares over 2,000 requests to within 5 requests, from any start", () => {
    const tree = NameTree.union({ weight: 0.7, tree: leaf("stable") }, { weight: 0.3, tree: leaf("canary") });
    for (const start of [0, 0.25, 0.5, 0.999, Math.random()]) {
      const got = picks(tree, new SplitSequence(() => start), 2_000);
      expect(Math.abs(count(got, "stable") - 1_400)).toBeLessThanOrEqual(5);
      expect(count(got, "stable") + count(got, "canary")).toBe(2_000);
    }
  });

  it("keep any weights within 5 requests over any run, and over every second request (property)", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.001, max: 1000, noNaN: true }),
        fc.double({ min: 0.001, max: 1000, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 5_000 }),
        (wa, wb, start, n) => {
          const tree = NameTree.union({ weight: wa, tree: leaf("a") }, { weight: wb, tree: leaf("b") });
          const got = picks(tree, new SplitSequence(() => start), n);
          const share = wa / (wa + wb);
          expect(Math.abs(count(got, "a") - n * share)).toBeLessThanOrEqual(5);
          const everySecond = got.filter((_, i) => i % 2 === 0);
          expect(Math.abs(count(everySecond, "a") - everySecond.length * share)).toBeLessThanOrEqual(5);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("cut a nested union's slice by its own weights, and share equally when no weight is positive", () => {
    const nested = NameTree.union(
      { weight: 1, tree: NameTree.union({ weight: 3, tree: leaf("a") }, { weight: 1, tree: leaf("b") }) },
      { weight: 1, tree: leaf("c") },
      { weight: 0, tree: leaf("never") },
    );
    const got = picks(nested, new SplitSequence(Math.random), 4_000);
    expect(Math.abs(count(got, "a") - 1_500)).toBeLessThanOrEqual(5);
    expect(Math.abs(count(got, "b") - 500)).toBeLessThanOrEqual(5);
    expect(Math.abs(count(got, "c") - 2_000)).toBeLessThanOrEqual(5);
    expect(count(got, "never")).toBe(0);
    const unweighted = NameTree.union({ weight: 0, tree: leaf("x") }, { weight: -1, tree: leaf("y") });
    const even = picks(unweighted, new SplitSequence(Math.random), 1_000);
    expect(Math.abs(count(even, "x") - 500)).toBeLessThanOrEqual(5);
  });

  it("take the first usable alternate, and report the empty kinds a point lands on", () => {
    const tree = NameTree.alt(NameTree.neg, NameTree.union({ weight: 1, tree: NameTree.fail }, { weight: 1, tree: leaf("ok") }));
    const got = picks(tree, new SplitSequence(Math.random), 1_000);
    expect(new Set(got)).toEqual(new Set(["fail", "ok"]));
    expect(Math.abs(count(got, "ok") - 500)).toBeLessThanOrEqual(5);
    expect(pickLeaf(NameTree.neg, 0.3)).toBe("neg");
    expect(pickLeaf(NameTree.empty, 0.3)).toBe("empty");
    // Points at the very ends of [0, 1) still land on a branch with a share.
    const edge = NameTree.union({ weight: 1, tree: leaf("first") }, { weight: 2, tree: leaf("last") }, { weight: 0, tree: leaf("none") });
    const fromTop = new SplitSequence(() => 1 - 2 ** -53);
    for (let i = 0; i < 1_000; i++) {
      const point = fromTop.next();
      expect(point >= 0 && point < 1, String(point)).toBe(true);
    }
    expect(pickLeaf(edge, 0)).toMatchObject({ id: Path.of("first") });
    expect(pickLeaf(edge, 1 - 2 ** -53)).toMatchObject({ id: Path.of("last") });
  });
});
