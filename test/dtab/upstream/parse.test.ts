// Parsing paths, name trees, dentries and dtabs; derived from Finagle's NameTreeParsersTest and the parsing cases of DtabTest.
import { describe, expect, test } from "vitest";
import { ANY_ELEM, Dentry, Dtab, NameTree, Path, Prefix } from "../../../dtab/index.ts";
import { dtabError } from "./helpers.ts";

const leaf = (s: string) => NameTree.leaf(Path.read(s));

describe("Path.read (NameTreeParsersTest: parsePath)", () => {
  test("'/' alone is the empty path", () => {
    const p = Path.read("/");
    expect(p.isEmpty).toBe(true);
    expect(p.equals(Path.empty)).toBe(true);
  });

  test("whitespace around a path is ignored", () => {
    expect(Path.read("  /foo/bar  ").equals(Path.of("foo", "bar"))).toBe(true);
  });

  test("\\xNN escapes of either hex case decode to bytes", () => {
    expect(Path.read("/\\x66\\x6f\\x6F").equals(Path.of("foo"))).toBe(true);
  });

  test.each([
    ["", "the empty string has no leading '/'"],
    ["/foo/bar/", "a trailing '/' would need an empty label"],
    ["/{}", "'{' is not a label character"],
    ["/\\?", "a backslash must be followed by 'x'"],
    ["/\\x?", "an escape needs two hex digits (none given)"],
    ["/\\x0?", "an escape needs two hex digits (one given)"],
  ])("rejects %j (%s)", (input) => {
    dtabError(() => Path.read(input), "DTAB_ERR_SYNTAX");
  });
});

describe("parse error positions (NameTreeParsersTest: error messages)", () => {
  test("an unexpected character is reported at its own offset: '/foo[^]bar'", () => {
    dtabError(() => Path.read("/foo^bar"), "DTAB_ERR_SYNTAX", 4);
  });

  test("a missing label after a trailing '/' is reported at the end of input: '/foo/bar/[]'", () => {
    dtabError(() => Path.read("/foo/bar/"), "DTAB_ERR_SYNTAX", 9);
  });
});

describe("NameTree.read (NameTreeParsersTest: parseNameTree)", () => {
  test("'! | ~ | $' is an Alt of Fail, Neg and Empty in order", () => {
    expect(NameTree.equals(NameTree.read("! | ~ | $"), NameTree.alt(NameTree.fail, NameTree.neg, NameTree.empty))).toBe(true);
  });

  test("a lone path is a Leaf", () => {
    expect(NameTree.equals(NameTree.read("/foo/bar"), leaf("/foo/bar"))).toBe(true);
  });

  test("'&' builds a Union whose branches carry the default weight 1.0", () => {
    const t = NameTree.read("  /foo & /bar  ");
    expect(NameTree.equals(t, NameTree.union({ weight: 1, tree: leaf("/foo") }, { weight: 1, tree: leaf("/bar") }))).toBe(true);
  });

  test("'|' builds an Alt", () => {
    expect(NameTree.equals(NameTree.read("  /foo | /bar  "), NameTree.alt(leaf("/foo"), leaf("/bar")))).toBe(true);
  });

  test("'&' binds tighter than '|'", () => {
    const expected = NameTree.alt(NameTree.union(leaf("/foo"), leaf("/bar")), NameTree.union(leaf("/bar"), leaf("/baz")));
    expect(NameTree.equals(NameTree.read("/foo & /bar | /bar & /baz"), expected)).toBe(true);
  });

  test("explicit weights ('1 *', '2 *', '.5 *') are kept on union branches", () => {
    const expected = NameTree.alt(
      NameTree.union({ weight: 1, tree: leaf("/foo") }, { weight: 2, tree: leaf("/bar") }),
      NameTree.union({ weight: 0.5, tree: leaf("/bar") }, { weight: 0.5, tree: leaf("/baz") }),
    );
    expect(NameTree.equals(NameTree.read("1 * /foo & 2 * /bar | .5 * /bar & .5 * /baz"), expected)).toBe(true);
  });

  test.each([
    ["", "empty input"],
    ["#", "only a comment"],
    ["/foo &", "a dangling '&'"],
  ])("rejects %j (%s)", (input) => {
    dtabError(() => NameTree.read(input), "DTAB_ERR_SYNTAX");
  });

  test.each([
    ["/foo & 0.1.2 * /bar", "a weight with two dots"],
    ["/foo & . * /bar", "a weight that is a lone dot"],
  ])("rejects %j (%s) as a bad weight", (input) => {
    dtabError(() => NameTree.read(input), "DTAB_ERR_INVALID_WEIGHT");
  });
});

describe("Dentry.read (NameTreeParsersTest: parseDentry)", () => {
  test("'/=>!' has the empty prefix and a Fail destination", () => {
    const d = Dentry.read("/=>!");
    expect(d.prefix.size).toBe(0);
    expect(d.prefix.equals(Prefix.empty)).toBe(true);
    expect(NameTree.equals(d.dst, NameTree.fail)).toBe(true);
  });

  test("whitespace is allowed around '=>': '/ => !' equals '/=>!'", () => {
    const d = Dentry.read("/ => !");
    expect(d.prefix.size).toBe(0);
    expect(NameTree.equals(d.dst, NameTree.fail)).toBe(true);
    expect(d.equals(Dentry.read("/=>!"))).toBe(true);
  });

  test("'*' is a whole prefix element matching any one label", () => {
    const d = Dentry.read("/foo/*/bar => !");
    expect(d.prefix.elems).toEqual(["foo", ANY_ELEM, "bar"]);
    expect(NameTree.equals(d.dst, NameTree.fail)).toBe(true);
  });

  test("a prefix of plain labels keeps each label", () => {
    const d = Dentry.read("/foo/bar/baz => !");
    expect(d.prefix.elems).toEqual(["foo", "bar", "baz"]);
    expect(d.prefix.equals(Prefix.read("/foo/bar/baz"))).toBe(true);
  });

  test.each([
    ["/foo/*bar/baz => !", "'*' glued to a label"],
    ["/&!", "no '=>' arrow"],
  ])("rejects %j (%s)", (input) => {
    dtabError(() => Dentry.read(input), "DTAB_ERR_SYNTAX");
  });
});

describe("Dtab.read (NameTreeParsersTest: parseDtab; DtabTest)", () => {
  test("the empty string is the empty dtab", () => {
    const d = Dtab.read("");
    expect(d.length).toBe(0);
    expect(d.equals(Dtab.empty)).toBe(true);
  });

  test("surrounding whitespace is ignored", () => {
    const d = Dtab.read("  /=>!  ");
    expect(d.length).toBe(1);
    expect(d.dentries[0]?.equals(Dentry.read("/=>!"))).toBe(true);
  });

  test("one trailing ';' is allowed", () => {
    const d = Dtab.read("/=>!;");
    expect(d.length).toBe(1);
    expect(d.equals(Dtab.read("/=>!"))).toBe(true);
  });

  test("';' separates dentries, kept in order", () => {
    const d = Dtab.read("/=>!;/foo=>/bar");
    expect(d.length).toBe(2);
    expect(d.dentries[0]?.prefix.size).toBe(0);
    expect(NameTree.equals(d.dentries[0]?.dst ?? NameTree.neg, NameTree.fail)).toBe(true);
    expect(d.dentries[1]?.prefix.equals(Prefix.read("/foo"))).toBe(true);
    expect(NameTree.equals(d.dentries[1]?.dst ?? NameTree.neg, leaf("/bar"))).toBe(true);
  });

  test("a trailing ';' after several lines still gives every dentry (DtabTest: allows trailing semicolon)", () => {
    const d = Dtab.read(`
          /b => /c;
          /a => /b;
          `);
    expect(d.length).toBe(2);
  });

  test("'#' starts a comment running to the end of the line, but is a label char inside a path (DtabTest: comments)", () => {
    const d = Dtab.read(`
# a comment
      /#foo => /biz  # another comment
             | ( /bliz & # yet another comment
                 /bluth ) # duh bluths
             ; #finalmente
      #/ignore=>/me;
    `);
    expect(d.length).toBe(1);
    const only = d.dentries[0];
    expect(only?.prefix.elems).toEqual(["#foo"]);
    const expected = NameTree.alt(leaf("/biz"), NameTree.union({ weight: 1, tree: leaf("/bliz") }, { weight: 1, tree: leaf("/bluth") }));
    expect(NameTree.equals(only?.dst ?? NameTree.neg, expected)).toBe(true);
  });
});
