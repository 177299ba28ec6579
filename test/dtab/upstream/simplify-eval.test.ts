// NameTree.eval and NameTree.simplify agree on what a tree evaluates to; derived from Finagle's NameTreeTest (NameTree.eval/simplified).
import { describe, expect, test } from "vitest";
import { NameTree } from "../../../dtab/index.ts";
import { evalPaths } from "./helpers.ts";

// tree → the set of leaves it evaluates to (sorted), or null for "no value".
const cases: readonly (readonly [string, readonly string[] | null])[] = [
  ["~", null],
  ["/ok", ["/ok"]],
  ["/ok & /ok1", ["/ok", "/ok1"]],
  ["/ok & ~ & /blah & $", ["/blah", "/ok"]],
  ["$ & $ & $", []],
  ["~ & ~ & (~ | ~)", null],
  ["~ | /foo | /bar", ["/foo"]],
  ["~ | $ | /blah", []],
  ["~ | (~ | $) | /blah", []],
  ["(~|$|/foo) & (/bar|/blah) & ~ & /FOO", ["/FOO", "/bar"]],
  ["! | /ok", null],
  ["/ok & !", ["/ok"]],
  ["! & ! & !", null],
  ["~ | /ok | !", ["/ok"]],
];

describe("NameTree.eval (NameTreeTest)", () => {
  test.each(cases)("eval(%s) is %j", (input, expected) => {
    expect(evalPaths(NameTree.read(input))).toEqual(expected);
  });
});

describe("NameTree.simplify keeps eval (NameTreeTest)", () => {
  test.each(cases)("eval(simplify(%s)) is %j", (input, expected) => {
    expect(evalPaths(NameTree.simplify(NameTree.read(input)))).toEqual(expected);
  });
});
