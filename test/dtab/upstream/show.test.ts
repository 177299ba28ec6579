// Show forms of paths, trees, dentries and dtabs and read/show round trips; derived from Finagle's PathTest, NameTreeTest ({read,show}) and DtabTest.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { Dentry, Dtab, NameTree, Path, type Weighted } from "../../../dtab/index.ts";

describe("Path.show (PathTest)", () => {
  test("a plain path shows as it was written", () => {
    expect(Path.read("/foo/bar").show).toBe("/foo/bar");
  });
});

describe("NameTree read/show round trip (NameTreeTest: NameTree.{read,show})", () => {
  // The label vocabulary upstream draws its random paths from.
  const words = (
    "Lorem ipsum dolor sit amet consectetur adipisicing elit sed do eiusmod tempor incididunt ut labore et dolore " +
    "magna aliqua Ut enim ad minim veniam quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo " +
    "consequat Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur " +
    "Excepteur sint occaecat cupidatat non proident sunt in culpa qui officia deserunt mollit anim id est laborum"
  ).split(" ");

  const leafArb: fc.Arbitrary<NameTree<Path>> = fc.oneof(
    fc.constant(NameTree.fail),
    fc.constant(NameTree.empty),
    fc.constant(NameTree.neg),
    fc.array(fc.constantFrom(...words), { minLength: 1, maxLength: 10 }).map((ws) => NameTree.leaf(Path.of(...ws))),
  );

  // Unions and Alts of one to three children; a single child stands for itself, as upstream builds them.
  const treeArb = (depth: number): fc.Arbitrary<NameTree<Path>> => {
    if (depth === 0) return leafArb;
    const sub = treeArb(depth - 1);
    const union = fc
      .array(fc.record({ weight: fc.integer({ min: 0, max: 9 }), tree: sub }), { minLength: 1, maxLength: 3 })
      .map((ws: Weighted<Path>[]) => (ws.length === 1 ? (ws[0] as Weighted<Path>).tree : NameTree.union(...ws)));
    const alt = fc
      .array(sub, { minLength: 1, maxLength: 3 })
      .map((ts) => (ts.length === 1 ? (ts[0] as NameTree<Path>) : NameTree.alt(...ts)));
    return fc.oneof(leafArb, union, alt);
  };

  test("read(show(t)) == t for random trees of depth 2 with integer weights 0..9", () => {
    fc.assert(
      fc.property(treeArb(2), (tree) => {
        const shown = NameTree.show(tree);
        const back = NameTree.read(shown);
        expect(NameTree.equals(back, tree), `${shown} did not read back to the same tree`).toBe(true);
      }),
      { numRuns: 100, seed: 1234 },
    );
  });
});

describe("Dtab and Dentry show forms (DtabTest)", () => {
  test("a wildcard dentry shows with no spaces around '=>' (Dtab.limited show)", () => {
    expect(Dtab.read("/a/*/c => /d").show).toBe("/a/*/c=>/d");
  });

  test("dentries rebuilt from upper-cased show forms keep their structure (Dtab is a Scala collection)", () => {
    const dtab = Dtab.of([Dentry.read("/a => /b"), Dentry.read("/c => /d")]);
    const upper = Dtab.of(dtab.dentries.map((e) => Dentry.read(`${e.prefix.show.toUpperCase()}=>${NameTree.show(e.dst).toUpperCase()}`)));
    expect(upper.length).toBe(2);
    const first = upper.dentries[0];
    expect(first?.prefix.elems).toEqual(["A"]);
    expect(NameTree.equals(first?.dst ?? NameTree.neg, NameTree.leaf(Path.of("B")))).toBe(true);
  });
});
