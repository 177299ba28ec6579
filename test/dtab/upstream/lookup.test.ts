// Dtab concatenation and the one-step Dtab.lookup rewrite; derived from Finagle's DtabTest (d1 ++ d2, wildcards).
import { describe, expect, test } from "vitest";
import { Dtab, NameTree, Path } from "../../../dtab/index.ts";

describe("Dtab concatenation (DtabTest)", () => {
  test("d1 ++ d2 is plain concatenation, d1's entries first", () => {
    const d1 = Dtab.read("/foo => /bar");
    const d2 = Dtab.read("/foo=>/biz;/biz=>/$/inet/8080;/bar=>/$/inet/9090");
    const expected = Dtab.read(`
      /foo=>/bar;
      /foo=>/biz;
      /biz=>/$/inet/8080;
      /bar=>/$/inet/9090
    `);
    expect(d1.concat(d2).equals(expected)).toBe(true);
    expect(d1.concat(d2).show).toBe("/foo=>/bar;/foo=>/biz;/biz=>/$/inet/8080;/bar=>/$/inet/9090");
  });

  test("d1 ++ Dtab.empty == d1", () => {
    const d1 = Dtab.read("/foo=>/bar;/biz=>/baz");
    expect(d1.concat(Dtab.empty).equals(d1)).toBe(true);
  });
});

describe("Dtab.lookup (DtabTest: dtab rewrites with wildcards)", () => {
  test("'*' consumes one label and the unmatched rest is appended: /a/*/c=>/d on /a/b/c/e/f gives /d/e/f", () => {
    const dtab = Dtab.read("/a/*/c => /d");
    const result = dtab.lookup(Path.read("/a/b/c/e/f"));
    expect(NameTree.equals(result, NameTree.leaf(Path.read("/d/e/f")))).toBe(true);
  });
});
