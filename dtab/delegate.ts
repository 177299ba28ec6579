// Delegation explained: Linkerd's DelegateTree, the step-by-step account of
// how a path resolves (every branch expanded, each step with the dentry that
// produced it), rendered in the /delegator.json shape. The dtab playground,
// the namer's /api/1/delegate and `namerctl delegate` all show this (§10).

import { type BindOptions, isBudgetError, lookupBudget } from "./bind.ts";
import { Dentry } from "./dentry.ts";
import { Dtab, type DentryJson } from "./dtab.ts";
import { DtabError } from "./errors.ts";
import { NameTree } from "./name-tree.ts";
import { type BoundName, type Namer, namerLookup, parseAddress } from "./namers.ts";
import { Path } from "./path.ts";

/** Linkerd's explainer gives up past this many lookups, counted as bind counts them. */
export const DELEGATE_MAX_DEPTH = 100;

export interface AddressJson {
  readonly ip: string;
  readonly port: number;
  readonly meta: Record<string, unknown>;
}

export type AddrJson =
  | { readonly type: "bound"; readonly addrs: readonly AddressJson[]; readonly meta: Record<string, unknown> }
  | { readonly type: "neg" }
  | { readonly type: "pending" }
  | { readonly type: "failed"; readonly cause: string };

export interface BoundJson {
  readonly addr: AddrJson;
  readonly id: string;
  /** The residual path, "/" when empty. */
  readonly path: string;
}

interface NodeBase {
  readonly path: string;
  readonly dentry?: DentryJson;
}

/** One node of the explanation tree; members in Linkerd's order: type, path, dentry, then the rest. */
export type DelegateJson =
  | ({ readonly type: "delegate" } & NodeBase & { readonly delegate: DelegateJson })
  | ({ readonly type: "alt" } & NodeBase & { readonly alt: readonly DelegateJson[] })
  | ({ readonly type: "union" } & NodeBase & { readonly union: readonly { readonly weight: number; readonly tree: DelegateJson }[] })
  | ({ readonly type: "leaf" } & NodeBase & { readonly bound: BoundJson })
  | ({ readonly type: "neg" } & NodeBase)
  | ({ readonly type: "fail" } & NodeBase)
  | ({ readonly type: "empty" } & NodeBase)
  | ({ readonly type: "exception" } & NodeBase & { readonly message: string });

// The in-memory explanation tree, before rendering.
type Node =
  | { readonly type: "exception"; readonly path: Path; readonly dentry: Dentry; readonly error: unknown }
  | { readonly type: "empty" | "fail" | "neg"; readonly path: Path; readonly dentry: Dentry }
  | { readonly type: "delegate"; readonly path: Path; readonly dentry: Dentry; readonly tree: Node }
  | { readonly type: "leaf"; readonly path: Path; readonly dentry: Dentry; readonly value: Path | BoundName }
  | { readonly type: "alt"; readonly path: Path; readonly dentry: Dentry; readonly trees: readonly Node[] }
  | { readonly type: "union"; readonly path: Path; readonly dentry: Dentry; readonly trees: readonly WeightedNode[] };
type WeightedNode = { readonly weight: number; readonly tree: Node };

/** A name tree as explanation nodes at `path`, each marked with the dentry that produced it. */
function fromNameTree(path: Path, dentry: Dentry, tree: NameTree<Path | BoundName>): Node {
  switch (tree.type) {
    case "empty":
      return { type: "empty", path, dentry };
    case "fail":
      return { type: "fail", path, dentry };
    case "neg":
      // An explicit `~` destination has no path of its own (it prints as "~").
      return { type: "neg", path: Path.empty, dentry };
    case "leaf":
      return { type: "leaf", path, dentry, value: tree.value };
    case "alt":
      return { type: "alt", path, dentry, trees: tree.trees.map((t) => fromNameTree(path, dentry, t)) };
    case "union":
      return {
        type: "union",
        path,
        dentry,
        trees: tree.trees.map(({ weight, tree: t }) => ({ weight, tree: fromNameTree(path, dentry, t) })),
      };
    default: {
      const never: never = tree;
      throw new TypeError(`not a NameTree node: ${JSON.stringify(never)}`);
    }
  }
}

function withDentry(node: Node, dentry: Dentry): Node {
  return { ...node, dentry };
}

/** Every dentry that matches, last first; only with none does it ask the namers. */
function delegateLookup(dtab: Dtab, namers: readonly Namer[], dentry: Dentry, path: Path): Node {
  const matches: Node[] = [];
  for (let i = dtab.dentries.length - 1; i >= 0; i--) {
    const d = dtab.dentries[i] as Dentry;
    if (!d.prefix.matches(path)) continue;
    const rest = path.drop(d.prefix.size);
    matches.push(fromNameTree(path, d, NameTree.map(d.dst, (p) => p.concat(rest))));
  }
  if (matches.length === 1) return { type: "delegate", path, dentry, tree: matches[0] as Node };
  if (matches.length > 1) return { type: "alt", path, dentry, trees: matches };
  try {
    const found = namerLookup(namers, path);
    return found.type === "neg" ? { type: "neg", path, dentry } : fromNameTree(path, dentry, found);
  } catch (error) {
    return { type: "exception", path, dentry, error };
  }
}

interface Context {
  readonly dtab: Dtab;
  readonly namers: readonly Namer[];
  readonly spend: () => void;
}

function delegateBind(ctx: Context, depth: number, node: Node): Node {
  if (depth > DELEGATE_MAX_DEPTH) throw new DtabError("DTAB_ERR_MAX_DEPTH", "Max recursion level reached.");
  const { dtab, namers } = ctx;
  // An error in one branch of a several-branch node is shown there; elsewhere it rises.
  const caught = (parent: Node, child: Node): Node => {
    try {
      return delegateBind(ctx, depth, child);
    } catch (error) {
      if (isBudgetError(error)) throw error;
      return { type: "exception", path: parent.path, dentry: parent.dentry, error };
    }
  };
  switch (node.type) {
    case "exception":
    case "empty":
    case "fail":
    case "neg":
      return node;
    case "leaf":
      if (!(node.value instanceof Path)) return node;
      ctx.spend();
      return delegateBind(ctx, depth + 1, delegateLookup(dtab, namers, node.dentry, node.value));
    case "delegate":
      return { ...node, tree: delegateBind(ctx, depth, node.tree) };
    case "alt":
      if (node.trees.length === 0) return { type: "neg", path: node.path, dentry: node.dentry };
      if (node.trees.length === 1) {
        return { type: "delegate", path: node.path, dentry: node.dentry, tree: delegateBind(ctx, depth, node.trees[0] as Node) };
      }
      // Unlike bind, every alternate is expanded: this is an explanation.
      return { ...node, trees: node.trees.map((t) => caught(node, t)) };
    case "union":
      if (node.trees.length === 0) return { type: "neg", path: node.path, dentry: node.dentry };
      if (node.trees.length === 1) {
        const only = node.trees[0] as WeightedNode;
        return { type: "delegate", path: node.path, dentry: node.dentry, tree: delegateBind(ctx, depth, only.tree) };
      }
      return { ...node, trees: node.trees.map(({ weight, tree }) => ({ weight, tree: caught(node, tree) })) };
    default: {
      const never: never = node;
      throw new TypeError(`not a delegate node: ${JSON.stringify(never)}`);
    }
  }
}

function simplify(node: Node): Node {
  switch (node.type) {
    case "delegate": {
      const child = simplify(node.tree);
      const terminal = child.type === "neg" || child.type === "fail" || child.type === "empty";
      // A step that did not change the path says nothing: show the child with this step's dentry.
      return !terminal && child.path.equals(node.path) ? withDentry(child, node.dentry) : { ...node, tree: child };
    }
    case "alt": {
      if (node.trees.length === 0) return { type: "neg", path: node.path, dentry: node.dentry };
      if (node.trees.length === 1) return simplify({ type: "delegate", path: node.path, dentry: node.dentry, tree: node.trees[0] as Node });
      const trees: Node[] = [];
      for (const t of node.trees) {
        const s = simplify(t);
        // Alternates of alternates at the same path read as one list.
        if (s.type === "alt" && s.path.equals(node.path)) trees.push(...s.trees);
        else trees.push(s);
      }
      return { ...node, trees };
    }
    case "union": {
      if (node.trees.length === 0) return { type: "neg", path: node.path, dentry: node.dentry };
      if (node.trees.length === 1) {
        return simplify({ type: "delegate", path: node.path, dentry: node.dentry, tree: (node.trees[0] as WeightedNode).tree });
      }
      return { ...node, trees: node.trees.map(({ weight, tree }) => ({ weight, tree: simplify(tree) })) };
    }
    default:
      return node;
  }
}

const FAIL_PATH = Path.of("$", "fail");

function dentryJson(d: Dentry): { dentry?: DentryJson } {
  return d.equiv(Dentry.nop) ? {} : { dentry: { prefix: d.prefix.show, dst: NameTree.show(d.dst) } };
}

/** Writes an IPv4 literal the way Java's InetAddress does (127.1 → 127.0.0.1); other hosts as given. */
export function canonicalIp(host: string): string {
  if (!/^\d+(\.\d+){0,3}$/.test(host)) return host;
  const parts = host.split(".").map(Number);
  const last = parts.pop() as number;
  if (parts.some((p) => p > 255)) return host;
  const room = 4 - parts.length;
  if (last >= 2 ** (8 * room)) return host;
  const bytes = [...parts];
  for (let i = room - 1; i >= 0; i--) bytes.push(Math.floor(last / 2 ** (8 * i)) % 256);
  return bytes.join(".");
}

function boundJson(b: BoundName): BoundJson {
  const addrs: AddressJson[] = [];
  for (const a of b.addrs) {
    const parsed = parseAddress(a);
    if (parsed !== undefined) addrs.push({ ip: canonicalIp(parsed.host), port: parsed.port, meta: {} });
  }
  return { addr: { type: "bound", addrs, meta: {} }, id: b.id.show, path: b.residual.show };
}

/** The message Linkerd shows: a namer's own error text, not our wrapper's. */
function errorMessage(e: unknown): string {
  const shown = e instanceof DtabError && e.code === "DTAB_ERR_NAMER_FAILED" && e.cause !== undefined ? e.cause : e;
  return shown instanceof Error ? shown.message : String(shown);
}

function render(node: Node): DelegateJson {
  const path = node.path.show;
  const base = (p: string) => ({ path: p, ...dentryJson(node.dentry) });
  switch (node.type) {
    case "delegate":
      return { type: "delegate", ...base(path), delegate: render(node.tree) };
    case "alt":
      return { type: "alt", ...base(path), alt: node.trees.map(render) };
    case "union":
      return { type: "union", ...base(path), union: node.trees.map(({ weight, tree }) => ({ weight, tree: render(tree) })) };
    case "leaf": {
      const v = node.value;
      // Unbound leaves are expanded before rendering; one left over means a namer returned a path we did not follow.
      const bound = v instanceof Path ? { addr: { type: "neg" } as const, id: v.show, path: "/" } : boundJson(v);
      return { type: "leaf", ...base(path), bound };
    }
    case "neg":
      return { type: "neg", ...base(node.path.isEmpty ? "~" : path) };
    case "fail":
      return { type: "fail", ...base(node.path.startsWith(FAIL_PATH) ? path : "!") };
    case "empty":
      return { type: "empty", ...base(path) };
    case "exception":
      return { type: "exception", ...base(path), message: errorMessage(node.error) };
    default: {
      const never: never = node;
      throw new TypeError(`not a delegate node: ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Explains how `path` (or a tree of paths) resolves through `dtab` and
 * `namers`, in Linkerd's /delegator.json shape. Unlike bind, every branch is
 * expanded and failures stay visible as nodes. Throws DtabError only when
 * the explanation itself fails at the root (a loop deeper than 100 lookups
 * outside any several-branch node).
 */
export function delegate(
  dtab: Dtab | string,
  pathOrTree: Path | NameTree<Path> | string,
  namers: readonly Namer[] = [],
  opts: Pick<BindOptions, "maxLookups"> = {},
): DelegateJson {
  const table = typeof dtab === "string" ? Dtab.read(dtab) : dtab;
  const tree: NameTree<Path> =
    typeof pathOrTree === "string"
      ? NameTree.leaf(Path.read(pathOrTree))
      : pathOrTree instanceof Path
        ? NameTree.leaf(pathOrTree)
        : pathOrTree;
  const root = fromNameTree(Path.empty, Dentry.nop, tree);
  const spend = lookupBudget(`explaining ${NameTree.show(tree)}`, opts.maxLookups);
  return render(simplify(delegateBind({ dtab: table, namers, spend }, 0, root)));
}
