// Which branch of a bound tree a request takes. A weighted union (`&`) maps
// each branch to a slice of [0, 1) as wide as its share of the weights, and
// a request goes where its point falls (nested unions cut their slice the
// same way). Finagle draws each point at random, which leaves a 70/30 split
// 1 % off at one standard deviation over 2,000 requests, and a 1 % canary
// anywhere from none to several times its share over a few hundred. meshd
// instead walks [0, 1) from a random start by the golden ratio's fraction,
// one step per request for the name (a low-discrepancy sequence): over any
// run of requests each branch gets its share to within a few requests, and
// so does every second (third, …) request, so clients that alternate kinds
// of request do not line up with one branch.
import type { NameTree } from "../../dtab/index.ts";
import type { BoundLeaf } from "../../namer/interpreter/interpreter.ts";

/** 1/φ: the step whose multiples spread most evenly over [0, 1). */
const STEP = (Math.sqrt(5) - 1) / 2;
/** The largest double below 1. */
const BELOW_ONE = 1 - 2 ** -53;

/** The points of one logical name's requests, one per attempt. */
export class SplitSequence {
  #point: number;

  constructor(random: () => number) {
    this.#point = random();
  }

  /** The next point in [0, 1). */
  next(): number {
    this.#point = (this.#point + STEP) % 1;
    return this.#point;
  }
}

/** The leaf (or the empty kind) where `point` (in [0, 1)) falls in a bound tree. */
export function pickLeaf(tree: NameTree<BoundLeaf>, point: number): BoundLeaf | "neg" | "fail" | "empty" {
  switch (tree.type) {
    case "leaf":
      return tree.value;
    case "neg":
    case "fail":
    case "empty":
      return tree.type;
    case "alt":
      // Bound trees have no alternates; take the first usable one if ever given one.
      for (const t of tree.trees) {
        const picked = pickLeaf(t, point);
        if (picked !== "neg") return picked;
      }
      return "neg";
    case "union": {
      // Weights ≤ 0 get no share; if none is positive, the branches share equally.
      const equal = !tree.trees.some((w) => w.weight > 0);
      let r = point * tree.trees.reduce((s, w) => s + width(w.weight, equal), 0);
      for (const w of tree.trees) {
        const slice = width(w.weight, equal);
        if (r < slice) return pickLeaf(w.tree, Math.min(r / slice, BELOW_ONE));
        r -= slice;
      }
      // Rounding left the point past the last slice: it belongs to the last branch with a share.
      const last = tree.trees.findLast((w) => width(w.weight, equal) > 0);
      return last === undefined ? "neg" : pickLeaf(last.tree, BELOW_ONE);
    }
  }
}

/** A union branch's slice: its weight, none for a weight ≤ 0, or 1 each when no weight is positive. */
function width(weight: number, equal: boolean): number {
  return equal ? 1 : weight > 0 ? weight : 0;
}
