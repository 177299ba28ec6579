// NameTree grammar, show form, simplify and eval (dtab-semantics §2, §3, §6).
import { describe, expect, it } from "vitest";
import { DtabError, NameTree, Path, formatWeight } from "../../dtab/index.ts";
import type { NameTree as Tree } from "../../dtab/index.ts";

const read = NameTree.read;
const show = (s: string): string => NameTree.show(read(s));
const leaf = (p: string): Tree<Path> => NameTree.leaf(Path.read(p));

function parseError(s: string): DtabError {
  try {
    read(s);
  } catch (e) {
    expect(e).toBeInstanceOf(DtabError);
    return e as DtabError;
  }
  throw new Error(`expected ${JSON.stringify(s)} not to parse`);
}

describe("NameTree.read", () => {
  it("reads leaves and the three constants", () => {
    expect(read("/a")).toEqual(leaf("/a"));
    expect(read("!")).toEqual(NameTree.fail);
    expect(read("~")).toEqual(NameTree.neg);
    expect(read("$")).toEqual(NameTree.empty);
    expect(read("/")).toEqual(leaf("/"));
  });

  it("binds & tighter than |", () => {
    expect(NameTree.equals(read("/a & /b | /c"), NameTree.alt(NameTree.union(leaf("/a"), leaf("/b")), leaf("/c")))).toBe(true);
  });

  it("creates no node for parentheses and does not flatten nested operators", () => {
    expect(read("((/a))")).toEqual(leaf("/a"));
    const nested = read("(/a | /b) | /c");
    expect(nested.type).toBe("alt");
    expect(nested.type === "alt" && nested.trees[0]?.type).toBe("alt");
    const inner = read("/a & (/b & /c)");
    expect(inner.type === "union" && inner.trees[1]?.tree.type).toBe("union");
  });

  it("reads weights: integers, decimals, leading and trailing dots, leading zeros", () => {
    const weights = (s: string): number[] => {
      const t = read(s);
      if (t.type !== "union") throw new Error("not a union");
      return t.trees.map((w) => w.weight);
    };
    expect(weights("1*/a & 2.5*/b & .5*/c & 1.*/d & 007*/e")).toEqual([1, 2.5, 0.5, 1, 7]);
    expect(weights("0.3 * /a & 0.7*/b")).toEqual([0.3, 0.7]);
    expect(weights("/a & /b")).toEqual([1, 1]);
  });

  it("rejects bad weights: a sign, an exponent, two dots, a lone dot, no '*'", () => {
    expect(parseError("-1*/a & /b").offset).toBe(0);
    expect(parseError("1e3*/a & /b").offset).toBe(1);
    const twoDots = parseError("1.2.3*/a & /b");
    expect(twoDots.code).toBe("DTAB_ERR_INVALID_WEIGHT");
    expect(twoDots.offset).toBe(3);
    expect(parseError(".*/a & /b").code).toBe("DTAB_ERR_INVALID_WEIGHT");
    expect(parseError("0.5 /a & /b").offset).toBe(4);
  });

  it("fails on digits that are not ASCII (Char.isDigit lets them in, parseDouble refuses)", () => {
    const e = parseError("\u0661*/a & /b");
    expect(e.code).toBe("DTAB_ERR_INVALID_WEIGHT");
    expect(e.offset).toBe(0);
  });

  it("silently drops a weight that is not one of two or more union operands", () => {
    expect(read("0.5 * /a")).toEqual(leaf("/a"));
    const inner = read("0.5 * (/a & /b)");
    expect(inner.type === "union" && inner.trees.map((w) => w.weight)).toEqual([1, 1]);
    const dropped = read("(0.5*/a) & /b");
    expect(dropped.type === "union" && dropped.trees.map((w) => w.weight)).toEqual([1, 1]);
  });

  it("allows one weight per operand only", () => {
    expect(() => read("0.5 * 0.5 * /a")).toThrow(DtabError);
  });

  it("rejects wildcards in trees", () => {
    expect(() => read("/*")).toThrow(DtabError);
    expect(() => read("/a/*")).toThrow(DtabError);
  });

  it("treats # as a comment where whitespace may appear, not inside labels", () => {
    expect(show("/a # comment")).toBe("/a");
    expect(show("/a | # c\n /b")).toBe("/a | /b");
    expect(show("/a#b")).toBe("/a#b");
    expect(() => read("#")).toThrow(DtabError);
    expect(() => read("")).toThrow(DtabError);
  });

  it("refuses whitespace inside a number", () => {
    expect(() => read("1 .5*/a & /b")).toThrow(DtabError);
  });

  it("reports the offset of unexpected input", () => {
    expect(parseError("/a & ").offset).toBe(5);
    expect(parseError("/a | | /b").offset).toBe(5);
    expect(parseError("(/a").offset).toBe(3);
    expect(parseError("/a)").offset).toBe(2);
    expect(parseError("/foo[^]bar").offset).toBe(4);
  });
});

describe("NameTree.show", () => {
  it("prints precedence without redundant parentheses", () => {
    expect(show("(/a & /b) | /c")).toBe("/a & /b | /c");
    expect(show("/a & (/b | /c)")).toBe("/a & (/b | /c)");
    expect(show("(/a | /b) | /c")).toBe("(/a | /b) | /c");
    expect(show("/a | (/b | /c)")).toBe("/a | (/b | /c)");
    expect(show("/a & (/b & /c)")).toBe("/a & (/b & /c)");
    expect(show("/a|/b&/c")).toBe("/a | /b & /c");
  });

  it("prints weights other than exactly 1.0 as %.2f* with no spaces", () => {
    expect(show("0.3 * /a & 0.7 * /b")).toBe("0.30*/a & 0.70*/b");
    expect(show("2 * (/b | /c) & /a")).toBe("2.00*(/b | /c) & /a");
    expect(show("1 * /a & 1.0 * /b")).toBe("/a & /b");
    expect(show("0.333*/a & /b")).toBe("0.33*/a & /b");
  });

  it("keeps a weight that only rounds to 1.00", () => {
    expect(show("1.001*/a & /b")).toBe("1.00*/a & /b");
    expect(show("0.995*/a & /b")).toBe("1.00*/a & /b");
    // Reading 1.00 back gives exactly 1.0, which then prints bare: show is not idempotent here.
    expect(NameTree.show(read(show("1.001*/a & /b")))).toBe("/a & /b");
  });

  it("never simplifies", () => {
    expect(show("/a & ~ & !")).toBe("/a & ~ & !");
    expect(show("~ | ! | $")).toBe("~ | ! | $");
  });

  it("prints one-child nodes as their child, ignoring the weight", () => {
    expect(NameTree.show(NameTree.alt(leaf("/a")))).toBe("/a");
    expect(NameTree.show(NameTree.union({ weight: 0.5, tree: leaf("/a") }))).toBe("/a");
    expect(NameTree.show(NameTree.union({ weight: 0.5, tree: read("/a | /b") }))).toBe("/a | /b");
    expect(NameTree.show(NameTree.union(leaf("/x"), NameTree.alt(read("/a | /b"))))).toBe("/x & (/a | /b)");
  });

  it("prints bound leaves as their id", () => {
    const bound = NameTree.leaf({ id: Path.read("/$/inet/h/1"), residual: Path.read("/r"), addrs: ["h:1"] });
    expect(NameTree.show(bound)).toBe("/$/inet/h/1");
  });
});

describe("formatWeight (the JVM's %.2f)", () => {
  it("rounds HALF_UP on the shortest decimal form, unlike toFixed", () => {
    expect(formatWeight(1.005)).toBe("1.01");
    expect(formatWeight(2.675)).toBe("2.68");
    expect(formatWeight(0.015)).toBe("0.02");
    expect(formatWeight(0.125)).toBe("0.13");
    expect(formatWeight(0.004)).toBe("0.00");
    expect(formatWeight(0.005)).toBe("0.01");
    expect(formatWeight(7)).toBe("7.00");
    expect(formatWeight(99.999)).toBe("100.00");
    expect(formatWeight(1e21)).toBe("1000000000000000000000.00");
    expect(formatWeight(1e-7)).toBe("0.00");
    expect(formatWeight(Infinity)).toBe("Infinity");
  });
});

describe("NameTree.simplify", () => {
  const simp = (s: string): string => NameTree.show(NameTree.simplify(read(s)));

  it("drops Neg from alternates and stops after the first Fail", () => {
    expect(simp("~ | /a | ~ | /b")).toBe("/a | /b");
    expect(simp("/a | ! | /b")).toBe("/a | !");
    expect(simp("~ | ~")).toBe("~");
    expect(simp("~ | !")).toBe("!");
    expect(simp("/a | $")).toBe("/a | $");
  });

  it("drops Neg and Fail from unions, keeps Empty and the survivors' weights", () => {
    expect(simp("/a & ~ & !")).toBe("/a");
    expect(simp("0.3*/a & ~ & 0.2*/b")).toBe("0.30*/a & 0.20*/b");
    expect(simp("! & !")).toBe("~");
    expect(simp("$ & /a")).toBe("$ & /a");
    expect(simp("0.5*/a & !")).toBe("/a");
  });

  it("unwraps single children and empty nodes", () => {
    expect(NameTree.simplify(NameTree.alt())).toEqual(NameTree.neg);
    expect(NameTree.simplify(NameTree.union())).toEqual(NameTree.neg);
    expect(NameTree.simplify(NameTree.alt(leaf("/a")))).toEqual(leaf("/a"));
  });

  it("does not flatten nested alternates and reaches a fixpoint", () => {
    const once = NameTree.simplify(read("(/a | ~) | (~ | /b | /c)"));
    expect(NameTree.show(once)).toBe("/a | (/b | /c)");
    expect(NameTree.equals(NameTree.simplify(once), once)).toBe(true);
  });
});

describe("NameTree.eval", () => {
  const ev = (s: string): string[] | null => {
    const r = NameTree.eval(read(s));
    return r === null ? null : [...r].map((p) => p.show).sort();
  };

  it("gives None for Neg and Fail, the empty set for Empty", () => {
    expect(ev("~")).toBeNull();
    expect(ev("!")).toBeNull();
    expect(ev("$")).toEqual([]);
    expect(ev("/a")).toEqual(["/a"]);
  });

  it("unions the branches that evaluate, ignoring weights and duplicates", () => {
    expect(ev("0.1*/a & 0.9*/b & /a")).toEqual(["/a", "/b"]);
    expect(ev("/a & ~")).toEqual(["/a"]);
    expect(ev("/a & !")).toEqual(["/a"]);
    expect(ev("~ & !")).toBeNull();
  });

  it("takes the first alternate that is not negative; a Fail stops the search", () => {
    expect(ev("~ | /b | /c")).toEqual(["/b"]);
    expect(ev("! | /b")).toBeNull();
    expect(ev("(! & !) | /b")).toEqual(["/b"]);
    expect(ev("$ | /blah")).toEqual([]);
    expect(ev("(~ | !) | /b")).toBeNull();
  });
});
