// The interpreter's answers in namerd's JSON shapes: a bound tree as the
// delegator's node objects rooted at the bound path (what /api/1/bind
// streams), and address sets as {"type":"bound","addrs":[…]} (/api/1/addr).
import type { DelegateJson, NameTree, Path } from "../../dtab/index.ts";
import { addrJson, type Binding, type BoundLeaf } from "./interpreter.ts";

const FAIL = "/$/fail";

function treeJson(path: Path, tree: NameTree<BoundLeaf>): DelegateJson {
  const at = path.show;
  switch (tree.type) {
    case "leaf":
      return { type: "leaf", path: at, bound: { addr: addrJson(tree.value.addr), id: tree.value.id.show, path: tree.value.residual.show } };
    case "alt":
      return { type: "alt", path: at, alt: tree.trees.map((t) => treeJson(path, t)) };
    case "union":
      return { type: "union", path: at, union: tree.trees.map((w) => ({ weight: w.weight, tree: treeJson(path, w.tree) })) };
    case "neg":
      return { type: "neg", path: path.isEmpty ? "~" : at };
    case "fail":
      return { type: "fail", path: at.startsWith(FAIL) ? at : "!" };
    case "empty":
      return { type: "empty", path: at };
  }
}

/**
 * A binding as namerd's bind JSON. A binding that failed is an `exception`
 * node carrying the error (the stream stays open and a fix to the dtab will
 * follow); a pending one has no document.
 */
export function bindingJson(path: Path, binding: Binding): DelegateJson | undefined {
  switch (binding.type) {
    case "ok":
      return treeJson(path, binding.tree);
    case "failed":
      return { type: "exception", path: path.show, message: `${binding.cause} [${binding.code}]` };
    case "pending":
      return undefined;
  }
}
