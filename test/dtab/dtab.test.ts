// Dentries, prefixes and dtabs: syntax, show forms, concatenation, JSON form,
// and Dtab.lookup's rewrite rules (dtab-semantics §4, §5).
import { describe, expect, it } from "vitest";
import { Dentry, Dtab, DtabError, NameTree, Path, Prefix } from "../../dtab/index.ts";
import { thrown } from "../support/thrown.ts";

const lookup = (dtab: string, path: string): string => NameTree.show(Dtab.read(dtab).lookup(Path.read(path)));

function dtabError(s: string): DtabError {
  try {
    Dtab.read(s);
  } catch (e) {
    expect(e).toBeInstanceOf(DtabError);
    return e as DtabError;
  }
  throw new Error(`expected ${JSON.stringify(s)} not to parse`);
}

describe("Dtab.read and show", () => {
  it("reads the empty dtab from nothing, whitespace or comments", () => {
    for (const s of ["", "   ", "# only a comment", "\n# a\n# b\n"]) {
      expect(Dtab.read(s).length, JSON.stringify(s)).toBe(0);
      expect(Dtab.read(s).show).toBe("");
    }
  });

  it("separates dentries with ';' only, allows one trailing ';'", () => {
    expect(Dtab.read("/a=>/b;/c=>/d").length).toBe(2);
    expect(Dtab.read("/a=>/b;/c=>/d;").length).toBe(2);
    expect(Dtab.read("/a => /b ;\n /c => /d ;\n").length).toBe(2);
    expect(dtabError("/a=>/b\n/c=>/d").offset).toBe(7);
  });

  it("rejects a leading ';', a doubled ';;' and '; ;'", () => {
    expect(dtabError(";/a=>/b").offset).toBe(0);
    expect(dtabError("/a=>/b;;/c=>/d").offset).toBe(7);
    expect(dtabError("/a=>/b; ;").offset).toBe(8);
  });

  it("needs '=' and '>' adjacent", () => {
    expect(dtabError("/a = > /b").offset).toBe(4);
    expect(dtabError("/a /b").offset).toBe(3);
    expect(dtabError("/a /b").message).toMatch(/expected '=>'.*offset 3/);
  });

  it("lets a comment swallow the rest of the line, separators included", () => {
    expect(Dtab.read("/a=>/b # note ; /c=>/d").length).toBe(1);
    expect(() => Dtab.read("/a=>#/b")).toThrow(DtabError);
  });

  it("shows dentries with no spaces around => and ; and keeps spaces inside trees", () => {
    const d = Dtab.read("/foo => /bah | /beh | /$/fail ;\n/foo=>/bar");
    expect(d.show).toBe("/foo=>/bah | /beh | /$/fail;/foo=>/bar");
    expect(Dtab.read(d.show).equals(d)).toBe(true);
  });

  it("keeps duplicates and order", () => {
    const d = Dtab.read("/a=>/b;/a=>/b;/a=>/c");
    expect(d.length).toBe(3);
    expect(d.show).toBe("/a=>/b;/a=>/b;/a=>/c");
  });

  it("gives line and column for errors in multi-line dtabs", () => {
    const e = dtabError("/a => /b;\n/c => /d |;\n");
    expect(e.offset).toBe(20);
    expect(e.message).toContain("line 2, column 11");
    expect(e.message).toContain("/c => /d |[;]");
  });
});

describe("Prefixes", () => {
  it("accepts * as a whole element only", () => {
    expect(Prefix.read("/a/*/c").show).toBe("/a/*/c");
    expect(() => Prefix.read("/foo*")).toThrow(DtabError);
    expect(() => Prefix.read("/*foo")).toThrow(DtabError);
    expect(Prefix.read("/").size).toBe(0);
  });

  it("matches whole labels; * matches exactly one label of any value", () => {
    const p = Prefix.read("/a/*");
    expect(p.matches(Path.read("/a/b"))).toBe(true);
    expect(p.matches(Path.read("/a/b/c"))).toBe(true);
    expect(p.matches(Path.read("/a"))).toBe(false);
    expect(Prefix.read("/*").matches(Path.empty)).toBe(false);
    expect(Prefix.read("/").matches(Path.empty)).toBe(true);
  });

  it("knows the nop dentry", () => {
    expect(Dentry.nop.show).toBe("/\\x2f=>~");
  });
});

describe("Dtab.lookup", () => {
  it("gives Neg when nothing matches", () => {
    expect(Dtab.read("/a=>/b").lookup(Path.read("/c"))).toEqual(NameTree.neg);
    expect(Dtab.empty.lookup(Path.read("/c"))).toEqual(NameTree.neg);
  });

  it("appends the residual to every leaf, keeping shape, weights, ~ ! $", () => {
    expect(lookup("/a=>/b", "/a/x/y")).toBe("/b/x/y");
    expect(lookup("/a=>0.2*/b & 0.8*(/c | ~) & $", "/a/x")).toBe("0.20*/b/x & 0.80*(/c/x | ~) & $");
    expect(lookup("/a=>!", "/a/x")).toBe("!");
  });

  it("drops labels matched by *", () => {
    expect(lookup("/a/*/c=>/d", "/a/b/c/e/f")).toBe("/d/e/f");
  });

  it("returns one match unwrapped, several as an unflattened Alt last-first", () => {
    expect(lookup("/a=>/b|/c;/a=>/d", "/a")).toBe("/d | (/b | /c)");
    expect(lookup("/a=>/b;/a/b=>/c", "/a/b/d")).toBe("/c/d | /b/b/d");
    expect(lookup("/a/b=>/c;/a=>/b", "/a/b/d")).toBe("/b/b/d | /c/d");
  });

  it("has no longest-prefix rule: position alone decides", () => {
    expect(lookup("/svc/users=>/special;/svc=>/general", "/svc/users")).toBe("/general/users | /special");
  });

  it("matches by whole label", () => {
    expect(lookup("/s=>/t", "/s#/x")).toBe("~");
    expect(lookup("/a=>/b", "/ab")).toBe("~");
  });

  it("the empty prefix matches everything", () => {
    expect(lookup("/=>/x", "/a/b")).toBe("/x/a/b");
    expect(lookup("/=>!", "/")).toBe("!");
  });

  it("returns the very Neg value for a single match whose destination is ~", () => {
    expect(Dtab.read("/a=>~").lookup(Path.read("/a"))).toEqual(NameTree.neg);
    expect(Dtab.read("/a=>~ | ~").lookup(Path.read("/a")).type).toBe("alt");
  });
});

describe("Dtab composition and JSON", () => {
  it("concatenates in order so later entries win", () => {
    const base = Dtab.read("/svc=>/a");
    const local = Dtab.read("/svc=>/b");
    expect(base.concat(local).show).toBe("/svc=>/a;/svc=>/b");
    expect(NameTree.show(base.concat(local).lookup(Path.read("/svc")))).toBe("/b | /a");
    expect(Dtab.concat(Dtab.empty, base, Dtab.empty)).toBe(base);
  });

  it("reads and writes namerd's JSON form", () => {
    const d = Dtab.fromJSON([
      { prefix: "/svc", dst: "/#/io.l5d.fs" },
      { prefix: "/svc/*", dst: "0.3*/a & 0.7*/b" },
    ]);
    expect(d.show).toBe("/svc=>/#/io.l5d.fs;/svc/*=>0.30*/a & 0.70*/b");
    expect(d.toJSON()).toEqual([
      { prefix: "/svc", dst: "/#/io.l5d.fs" },
      { prefix: "/svc/*", dst: "0.30*/a & 0.70*/b" },
    ]);
    expect(JSON.parse(JSON.stringify(Dtab.read("/a=>/b")))).toEqual([{ prefix: "/a", dst: "/b" }]);
  });

  it("names the entry and field of a bad JSON dtab", () => {
    const cases: [unknown, RegExp][] = [
      [{ prefix: "/a" }, /list/],
      [[{ prefix: "/a" }], /\[0\] needs "dst"/],
      [[{ prefix: "/a", dst: "/b" }, "x"], /\[1\] must be an object/],
      [[{ prefix: "/a", dst: "/b" }, { prefix: "a", dst: "/b" }], /\[1\] "prefix"/],
    ];
    for (const [input, message] of cases) {
      expect(() => Dtab.fromJSON(input)).toThrow(message);
    }
    const e = thrown(() => Dtab.fromJSON([{ prefix: "/a", dst: "/b &" }])) as DtabError;
    expect(e.code).toBe("DTAB_ERR_INVALID_JSON");
    expect(e.offset).toBe(4);
  });
});
