// Property tests for the dtab core: the parsers never throw anything but
// DtabError, show/read round-trip, simplify is a fixpoint that keeps
// evaluation, and lookup respects dtab order. Each run prints its seed;
// FC_SEED=<n> replays one.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Dentry, Dtab, DtabError, NameTree, Path, Prefix, bind } from "../../dtab/index.ts";
import type { NameTree as Tree, Weighted } from "../../dtab/index.ts";

const seed = process.env["FC_SEED"] === undefined ? Date.now() ^ Math.floor(Math.random() * 0x7fffffff) : Number(process.env["FC_SEED"]);
console.log(`dtab property tests: seed ${seed} (replay with FC_SEED=${seed})`);
const params = (numRuns: number): fc.Parameters<unknown> => ({ seed, numRuns });

/** Strings built from the grammar's own tokens plus troublemakers, so most inputs get deep into the parser. */
const TOKENS = [
  "/", "/", "/", "a", "b", "svc", "#", "$", "%", ":", ".", "-", "_", "\\x", "\\x2f", "\\xZZ", "\\X41", "4", "0", "1.", ".5", "..",
  "*", "&", "|", "(", ")", "~", "!", "=>", "=", ">", ";", ";;", " ", "\t", "\n", "# comment\n", "\u00a0", "\u001c", "\u2028",
  "\ufeff", "é", "\u0661", "\ud83d", "\ude00", "\u0000", ",", "@",
];
const tokenString = fc.array(fc.constantFrom(...TOKENS), { maxLength: 30 }).map((ts) => ts.join(""));
/** Any UTF-16 code unit, lone surrogates included (fast-check's "binary" unit is very slow under vitest). */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const anyInput = fc.oneof(
  tokenString,
  fc.string({ unit: codeUnit, maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ maxLength: 40 }),
);

const PARSERS: [string, (s: string) => unknown][] = [
  ["Path.read", Path.read],
  ["NameTree.read", NameTree.read],
  ["Prefix.read", Prefix.read],
  ["Dentry.read", Dentry.read],
  ["Dtab.read", Dtab.read],
];

describe("parsers on arbitrary input", () => {
  it("never throw anything but DtabError, with an offset inside the input (12,000 cases per parser)", () => {
    for (const [name, parse] of PARSERS) {
      fc.assert(
        fc.property(anyInput, (s) => {
          try {
            parse(s);
          } catch (e) {
            if (!(e instanceof DtabError)) throw new Error(`${name}(${JSON.stringify(s)}) threw ${String(e)}`, { cause: e });
            expect(e.offset).toBeGreaterThanOrEqual(0);
            expect(e.offset).toBeLessThanOrEqual(s.length);
            expect(e.message).toContain(`offset ${e.offset}`);
          }
        }),
        params(12_000),
      );
    }
  });

  it("show(read(s)) is stable: once shown, showing again changes nothing", () => {
    const reshow = (s: string): string => NameTree.show(NameTree.read(s));
    fc.assert(
      fc.property(tokenString, (s) => {
        let once: string;
        try {
          once = reshow(s);
        } catch {
          return; // not a tree: nothing to check
        }
        // A weight such as 1.001 shows as "1.00*", which reads back as exactly 1.0 and then shows bare:
        // the second round is a fixpoint.
        const twice = reshow(once);
        expect(reshow(twice)).toBe(twice);
      }),
      params(10_000),
    );
  });
});

const label = fc.oneof(
  fc.constantFrom("a", "svc", "users", "#", "$", "io.l5d.fs", "127.0.0.1", "8080"),
  fc.uint8Array({ minLength: 1, maxLength: 4 }).map((bytes) => String.fromCharCode(...bytes)),
);
const pathArb = fc.array(label, { maxLength: 4 }).map((labels) => Path.fromLabels(labels.map((l) => Uint8Array.from(l, (c) => c.charCodeAt(0)))));

/** Trees in the form show prints faithfully: compound nodes have two or more children, weights have two decimals. */
const treeArb: fc.Arbitrary<Tree<Path>> = fc.letrec<{ tree: Tree<Path> }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    pathArb.map((p) => NameTree.leaf(p)),
    fc.constantFrom(NameTree.neg, NameTree.fail, NameTree.empty),
    fc.array(tie("tree"), { minLength: 2, maxLength: 3 }).map((ts) => NameTree.alt(...ts)),
    fc
      .array(fc.record({ weight: fc.integer({ min: 0, max: 500 }).map((k) => k / 100), tree: tie("tree") }), { minLength: 2, maxLength: 3 })
      .map((ws: Weighted<Path>[]) => NameTree.union(...ws)),
  ),
})).tree;

describe("round trips", () => {
  it("read(show(p)) equals p for paths of arbitrary bytes", () => {
    fc.assert(
      fc.property(pathArb, (p) => {
        expect(Path.read(p.show).equals(p)).toBe(true);
      }),
      params(5_000),
    );
  });

  it("read(show(t)) equals t for trees show prints faithfully", () => {
    fc.assert(
      fc.property(treeArb, (t) => {
        const shown = NameTree.show(t);
        expect(NameTree.equals(NameTree.read(shown), t)).toBe(true);
        expect(NameTree.show(NameTree.read(shown))).toBe(shown);
      }),
      params(5_000),
    );
  });

  it("Dtab.read(d.show) equals d", () => {
    const dentryArb = fc.tuple(pathArb, treeArb).map(([p, t]) => new Dentry(Prefix.fromPath(p), t));
    fc.assert(
      fc.property(fc.array(dentryArb, { maxLength: 5 }), (ds) => {
        const d = Dtab.of(ds);
        expect(Dtab.read(d.show).equals(d)).toBe(true);
        expect(Dtab.fromJSON(JSON.parse(JSON.stringify(d))).equals(d)).toBe(true);
      }),
      params(3_000),
    );
  });
});

describe("simplify and eval", () => {
  const evalShows = (t: Tree<Path>): string[] | null => {
    const r = NameTree.eval(t);
    return r === null ? null : [...r].map((p) => p.show).sort();
  };

  it("simplify is a fixpoint and keeps what the tree evaluates to", () => {
    fc.assert(
      fc.property(treeArb, (t) => {
        const s = NameTree.simplify(t);
        expect(NameTree.equals(NameTree.simplify(s), s)).toBe(true);
        expect(evalShows(s)).toEqual(evalShows(t));
      }),
      params(5_000),
    );
  });
});

describe("lookup and bind", () => {
  it("entries that do not match a path never change its lookup; later matching entries come first", () => {
    fc.assert(
      fc.property(pathArb, treeArb, treeArb, (p, t1, t2) => {
        const first = Dtab.of([new Dentry(Prefix.fromPath(p), t1)]);
        const unrelated = Dtab.read("/zz-no-such-label=>/x");
        expect(NameTree.equals(first.concat(unrelated).lookup(p), first.lookup(p))).toBe(true);
        const both = first.append(new Dentry(Prefix.fromPath(p), t2)).lookup(p);
        if (both.type !== "alt") throw new Error("two matches must give an Alt");
        expect(NameTree.equals(both.trees[1] as Tree<Path>, first.lookup(p))).toBe(true);
      }),
      params(3_000),
    );
  });

  it("bind never returns an Alt and never throws anything but DtabError", () => {
    const hasAlt = (t: Tree<unknown>): boolean =>
      t.type === "alt" || (t.type === "union" && t.trees.some((w) => hasAlt(w.tree)));
    const dentries = fc.array(
      fc.tuple(fc.constantFrom("/a", "/b", "/c", "/$/inet"), treeArb.map((t) => NameTree.map(t, (p) => Path.read(["/a", "/b", "/c", "/$/inet/h/1", "/$/nil"][p.size % 5] as string).concat(p)))),
      { maxLength: 4 },
    );
    fc.assert(
      fc.property(dentries, (ds) => {
        const dtab = Dtab.of(ds.map(([prefix, t]) => new Dentry(Prefix.read(prefix), t)));
        try {
          // A small lookup budget keeps self-referencing unions from dominating the run time.
          expect(hasAlt(bind(dtab, Path.read("/a"), [], { maxLookups: 500 }))).toBe(false);
        } catch (e) {
          if (!(e instanceof DtabError)) throw e;
        }
      }),
      params(2_000),
    );
  });
});
