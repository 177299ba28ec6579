// NameTree: what a dtab rewrites a path into, and what binding turns into
// addresses. Alt (`|`) falls over, Union (`&`) balances by weight, `~` is
// "no binding here", `!` stops, `$` exists but is empty (dtab-semantics §3, §6).

import { formatWeight } from "./format.ts";
import { Path } from "./path.ts";
import { readNameTree } from "./reader.ts";

export interface Leaf<T> {
  readonly type: "leaf";
  readonly value: T;
}
export interface Alt<T> {
  readonly type: "alt";
  readonly trees: readonly NameTree<T>[];
}
export interface Weighted<T> {
  readonly weight: number;
  readonly tree: NameTree<T>;
}
export interface Union<T> {
  readonly type: "union";
  readonly trees: readonly Weighted<T>[];
}
export interface Neg {
  readonly type: "neg";
}
export interface Fail {
  readonly type: "fail";
}
export interface Empty {
  readonly type: "empty";
}

export type NameTree<T> = Leaf<T> | Alt<T> | Union<T> | Neg | Fail | Empty;

/** A leaf value NameTree.show can print: a Path, a bound name (printed as its id) or a string. */
export type ShowableLeaf = Path | string | { readonly id: Path | string };

const NEG: Neg = Object.freeze({ type: "neg" });
const FAIL: Fail = Object.freeze({ type: "fail" });
const EMPTY: Empty = Object.freeze({ type: "empty" });

/** The weight a union branch has when none is written. */
export const DEFAULT_WEIGHT = 1.0;

function assertNever(x: never): never {
  throw new TypeError(`not a NameTree node: ${JSON.stringify(x)}`);
}

function leaf<T>(value: T): Leaf<T> {
  return { type: "leaf", value };
}

function alt<T>(...trees: readonly NameTree<T>[]): Alt<T> {
  return { type: "alt", trees };
}

function isWeighted<T>(x: NameTree<T> | Weighted<T>): x is Weighted<T> {
  return !("type" in x);
}

/** A union; branches given as bare trees get weight 1. */
function union<T>(...branches: readonly (NameTree<T> | Weighted<T>)[]): Union<T> {
  return {
    type: "union",
    trees: branches.map((b) => (isWeighted(b) ? b : { weight: DEFAULT_WEIGHT, tree: b })),
  };
}

function showLeafValue(v: ShowableLeaf): string {
  if (typeof v === "string") return v;
  if (v instanceof Path) return v.show;
  return typeof v.id === "string" ? v.id : v.id.show;
}

/**
 * Finagle's printed form. Alternates join with " | " at the top, unions join
 * with " & " and parenthesise what they contain; a weight other than exactly
 * 1.0 prints as `%.2f*`; one-child nodes print as their child.
 */
function show<T extends ShowableLeaf>(tree: NameTree<T>): string {
  switch (tree.type) {
    case "alt":
      if (tree.trees.length === 1) return show(tree.trees[0] as NameTree<T>);
      return tree.trees.map(showUnionLevel).join(" | ");
    case "union":
      if (tree.trees.length === 1) return show((tree.trees[0] as Weighted<T>).tree);
      return showUnionLevel(tree);
    default:
      return showSimple(tree);
  }
}

function showUnionLevel<T extends ShowableLeaf>(tree: NameTree<T>): string {
  switch (tree.type) {
    case "alt":
      if (tree.trees.length === 1) return showUnionLevel(tree.trees[0] as NameTree<T>);
      return `(${show(tree)})`;
    case "union":
      if (tree.trees.length === 1) return showUnionLevel((tree.trees[0] as Weighted<T>).tree);
      return tree.trees
        .map(({ weight, tree: t }) => (weight === DEFAULT_WEIGHT ? "" : `${formatWeight(weight)}*`) + showSimple(t))
        .join(" & ");
    default:
      return showSimple(tree);
  }
}

function showSimple<T extends ShowableLeaf>(tree: NameTree<T>): string {
  switch (tree.type) {
    case "leaf":
      return showLeafValue(tree.value);
    case "fail":
      return "!";
    case "neg":
      return "~";
    case "empty":
      return "$";
    case "alt":
    case "union": {
      const only = singleChild(tree);
      return only === undefined ? `(${show(tree)})` : showSimple(only);
    }
    default:
      return assertNever(tree);
  }
}

function singleChild<T>(tree: Alt<T> | Union<T>): NameTree<T> | undefined {
  if (tree.trees.length !== 1) return undefined;
  return tree.type === "alt" ? tree.trees[0] : tree.trees[0]?.tree;
}

/**
 * An evaluation-equivalent tree and a fixpoint: alternates drop `~` and stop
 * after the first `!`; unions drop `~` and `!` branches (keeping `$`) and keep
 * the survivors' weights; a single survivor is returned unwrapped.
 */
function simplify<T>(tree: NameTree<T>): NameTree<T> {
  switch (tree.type) {
    case "alt": {
      if (tree.trees.length === 0) return NEG;
      if (tree.trees.length === 1) return simplify(tree.trees[0] as NameTree<T>);
      const kept: NameTree<T>[] = [];
      for (const child of tree.trees) {
        const s = simplify(child);
        if (s.type === "neg") continue;
        kept.push(s);
        if (s.type === "fail") break;
      }
      if (kept.length === 0) return NEG;
      return kept.length === 1 ? (kept[0] as NameTree<T>) : alt(...kept);
    }
    case "union": {
      if (tree.trees.length === 0) return NEG;
      if (tree.trees.length === 1) return simplify((tree.trees[0] as Weighted<T>).tree);
      const kept: Weighted<T>[] = [];
      for (const { weight, tree: child } of tree.trees) {
        const s = simplify(child);
        if (s.type !== "neg" && s.type !== "fail") kept.push({ weight, tree: s });
      }
      if (kept.length === 0) return NEG;
      return kept.length === 1 ? (kept[0] as Weighted<T>).tree : { type: "union", trees: kept };
    }
    case "leaf":
    case "neg":
    case "fail":
    case "empty":
      return tree;
    default:
      return assertNever(tree);
  }
}

type Evaluated<T> = { readonly kind: "neg" } | { readonly kind: "fail" } | { readonly kind: "ok"; readonly values: Map<string, T> };

function leafKey(v: unknown): string {
  if (v instanceof Path) return v.show;
  if (typeof v === "string") return v;
  if (typeof v === "object" && v !== null && "id" in v) return showLeafValue(v as { id: Path | string });
  return JSON.stringify(v);
}

function evaluate<T>(tree: NameTree<T>): Evaluated<T> {
  switch (tree.type) {
    case "neg":
      return { kind: "neg" };
    case "fail":
      return { kind: "fail" };
    case "empty":
      return { kind: "ok", values: new Map() };
    case "leaf":
      return { kind: "ok", values: new Map([[leafKey(tree.value), tree.value]]) };
    case "union": {
      // Branches that are negative or failed are ignored; with none left the union is negative.
      let values: Map<string, T> | undefined;
      for (const { tree: child } of tree.trees) {
        const e = evaluate(child);
        if (e.kind !== "ok") continue;
        values ??= new Map();
        for (const [k, v] of e.values) if (!values.has(k)) values.set(k, v);
      }
      return values === undefined ? { kind: "neg" } : { kind: "ok", values };
    }
    case "alt": {
      for (const child of tree.trees) {
        const e = evaluate(child);
        if (e.kind !== "neg") return e;
      }
      return { kind: "neg" };
    }
    default:
      return assertNever(tree);
  }
}

/** The set of leaves the tree evaluates to (weights ignored), or null when it is negative or failed. */
function evalTree<T>(tree: NameTree<T>): ReadonlySet<T> | null {
  const e = evaluate(tree);
  return e.kind === "ok" ? new Set(e.values.values()) : null;
}

/** The same tree with every leaf value passed through `f`; shape and weights are kept. */
function map<T, U>(tree: NameTree<T>, f: (value: T) => U): NameTree<U> {
  switch (tree.type) {
    case "leaf":
      return leaf(f(tree.value));
    case "alt":
      return alt(...tree.trees.map((t) => map(t, f)));
    case "union":
      return { type: "union", trees: tree.trees.map(({ weight, tree: t }) => ({ weight, tree: map(t, f) })) };
    case "neg":
    case "fail":
    case "empty":
      return tree;
    default:
      return assertNever(tree);
  }
}

/** Structural equality; leaves compare as paths (or bound ids), weights exactly. */
function equals<T>(a: NameTree<T>, b: NameTree<T>): boolean {
  if (a === b) return true;
  switch (a.type) {
    case "leaf":
      return b.type === "leaf" && leafKey(a.value) === leafKey(b.value);
    case "alt":
      return b.type === "alt" && a.trees.length === b.trees.length && a.trees.every((t, i) => equals(t, b.trees[i] as NameTree<T>));
    case "union":
      return (
        b.type === "union" &&
        a.trees.length === b.trees.length &&
        a.trees.every((w, i) => {
          const o = b.trees[i] as Weighted<T>;
          return w.weight === o.weight && equals(w.tree, o.tree);
        })
      );
    case "neg":
    case "fail":
    case "empty":
      return a.type === b.type;
    default:
      return assertNever(a);
  }
}

/** Constructors and operations on name trees, named as in Finagle. */
export const NameTree = {
  neg: NEG as NameTree<never>,
  fail: FAIL as NameTree<never>,
  empty: EMPTY as NameTree<never>,
  leaf,
  alt,
  union,
  /** Parses Finagle's name-tree syntax; throws DtabError with the offset. */
  read: (s: string): NameTree<Path> => readNameTree(s),
  show,
  simplify,
  eval: evalTree,
  map,
  equals,
} as const;
