// Binding: Finagle's DefaultInterpreter (with Linkerd's configured namers)
// turning a path into a tree of bound names, synchronously and purely. The
// namer service keeps results live by running it again when inputs change.

import { Dtab } from "./dtab.ts";
import { DtabError } from "./errors.ts";
import { NameTree, type Weighted } from "./name-tree.ts";
import { type BoundName, type Namer, type PartlyBound, boundName, namerLookup } from "./namers.ts";
import { Path } from "./path.ts";

/** Finagle's default namerMaxDepth: lookups allowed before binding gives up on a loop. */
export const DEFAULT_MAX_DEPTH = 100;

/**
 * Lookups one bind (or explanation) may make in all, across every branch.
 * Finagle has no such limit: a dtab such as `/a=>/a & /a` (which a request can
 * send in l5d-dtab) doubles its work at every level and would run for ages
 * before reaching the depth limit. Legitimate dtabs stay far below this.
 */
export const DEFAULT_MAX_LOOKUPS = 10_000;

export interface BindOptions {
  /** Most nested lookups (dtab rewrites plus the final namer hit) on one branch; default 100. */
  readonly maxDepth?: number;
  /** Most lookups in all; past it the whole bind fails with DTAB_ERR_TOO_COMPLEX. Default 10,000. */
  readonly maxLookups?: number;
}

/** Counts lookups against the budget; the error it throws is never absorbed by a union. */
export function lookupBudget(what: string, maxLookups = DEFAULT_MAX_LOOKUPS): () => void {
  let used = 0;
  return () => {
    if (++used > maxLookups) {
      throw new DtabError(
        "DTAB_ERR_TOO_COMPLEX",
        `${what} needed more than ${maxLookups} lookups; the dtab probably loops through a union (such as /a=>/a & /a)`,
      );
    }
  };
}

export function isBudgetError(e: unknown): boolean {
  return e instanceof DtabError && e.code === "DTAB_ERR_TOO_COMPLEX";
}

/**
 * The lookup step for one path: the dtab first; only when it answers exactly
 * `~` (no rule, or a single rule whose destination is `~`) are the namers
 * asked. So `/$/inet=>~` does not block /$/inet, but `/$/inet=>!` does.
 */
export function lookupPath(dtab: Dtab, namers: readonly Namer[], path: Path): PartlyBound {
  const rewritten = dtab.lookup(path);
  return rewritten.type === "neg" ? namerLookup(namers, path) : rewritten;
}

/**
 * Binds `pathOrTree` through `dtab` and `namers`, returning a tree with bound
 * names at its leaves and no Alt nodes. Alternates are tried in order and fall
 * through only on `~` (a `!` stops them; an error fails them); unions bind
 * every branch, drop the negative and failed ones, and keep their weights.
 * Throws DtabError when the whole binding fails (a loop past `maxDepth`, an
 * unknown /$ namer, a namer that threw where no other branch succeeded).
 */
export function bind(
  dtab: Dtab | string,
  pathOrTree: Path | NameTree<Path> | string,
  namers: readonly Namer[] = [],
  opts: BindOptions = {},
): NameTree<BoundName> {
  const table = typeof dtab === "string" ? Dtab.read(dtab) : dtab;
  const root: PartlyBound =
    typeof pathOrTree === "string"
      ? NameTree.leaf(Path.read(pathOrTree))
      : pathOrTree instanceof Path
        ? NameTree.leaf(pathOrTree)
        : pathOrTree;
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  const spend = lookupBudget(`binding ${NameTree.show(root)}`, opts.maxLookups);

  const bindAt = (tree: PartlyBound, depth: number, weight: number | undefined): NameTree<BoundName> => {
    if (depth > maxDepth) {
      throw new DtabError("DTAB_ERR_MAX_DEPTH", `Max recursion level: ${maxDepth} reached in Namer lookup`);
    }
    switch (tree.type) {
      case "leaf": {
        const v = tree.value;
        // Only lookups go one level deeper; alternates and unions do not.
        if (v instanceof Path) {
          spend();
          return bindAt(lookupPath(table, namers, v), depth + 1, weight);
        }
        return weight === undefined ? NameTree.leaf(v) : NameTree.leaf(boundName(v, weight));
      }
      case "neg":
      case "fail":
      case "empty":
        return tree;
      case "alt": {
        if (tree.trees.length === 0) return NameTree.neg;
        for (const child of tree.trees) {
          const bound = bindAt(child, depth, weight);
          if (bound.type !== "neg") return bound;
        }
        return NameTree.neg;
      }
      case "union": {
        if (tree.trees.length === 0) return NameTree.neg;
        if (tree.trees.length === 1) {
          const only = tree.trees[0] as Weighted<Path | BoundName>;
          return bindAt(only.tree, depth, only.weight);
        }
        const ok: Weighted<BoundName>[] = [];
        let firstError: unknown;
        let failed = false;
        for (const { weight: w, tree: child } of tree.trees) {
          try {
            ok.push({ weight: w, tree: bindAt(child, depth, w) });
          } catch (e) {
            if (isBudgetError(e)) throw e;
            if (!failed) firstError = e;
            failed = true;
          }
        }
        // A union fails only when no branch bound at all.
        if (ok.length === 0) throw firstError;
        return NameTree.simplify(NameTree.union(...ok));
      }
      default: {
        const never: never = tree;
        throw new TypeError(`not a NameTree node: ${JSON.stringify(never)}`);
      }
    }
  };

  return bindAt(root, 0, undefined);
}
