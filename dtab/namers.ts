// Namers turn a path the dtab cannot rewrite into a bound name (addresses)
// or a further path. This file holds the namer contract shared by bind and
// delegate, the system namers under /$ (inet, fixedinet, nil, fail), and the
// lookup order: configured namers first, then the system namers (§7, §8).

import { parseJavaInt } from "./chars.ts";
import { DtabError } from "./errors.ts";
import { NameTree } from "./name-tree.ts";
import { Path } from "./path.ts";

/** A name bound to concrete addresses: what a bound tree's leaves hold. */
export interface BoundName {
  /** The part of the name that was bound, e.g. /$/inet/127.0.0.1/8080 or /#/io.l5d.fs/users. */
  readonly id: Path;
  /** The labels the namer did not consume (Linkerd forwards them as l5d-dst-residual). */
  readonly residual: Path;
  /** Addresses as "host:port" ("[::1]:80" for IPv6, ":port" for no host). */
  readonly addrs: readonly string[];
  /** The weight of the nearest enclosing union branch, when there is one. */
  readonly weight?: number;
}

/** What a namer may hand back for a bound leaf; strings are parsed as paths. */
export interface BoundNameInput {
  readonly id: Path | string;
  readonly residual?: Path | string;
  readonly addrs: readonly string[];
}

/**
 * A configured namer mounted at `prefix` (the full mount path, such as
 * /#/io.l5d.fs). It is asked only about paths under its prefix, and only when
 * the dtab has no rule for them; it gets the path minus the prefix. Answering
 * `~` passes the path on to the next matching namer. Leaves may be bound
 * names or paths (which go through the dtab again). Throwing fails that branch.
 */
export interface Namer {
  readonly prefix: Path;
  lookup(residual: Path): NameTree<Path | BoundNameInput>;
}

/** A tree on its way to being bound: leaves are paths still to look up, or bound names. */
export type PartlyBound = NameTree<Path | BoundName>;

function toPath(p: Path | string): Path {
  return typeof p === "string" ? Path.read(p) : p;
}

export function boundName(input: BoundNameInput, weight?: number): BoundName {
  return Object.freeze({
    id: toPath(input.id),
    residual: input.residual === undefined ? Path.empty : toPath(input.residual),
    addrs: Object.freeze([...input.addrs]),
    ...(weight === undefined ? {} : { weight }),
  });
}

/** "host:port", with IPv6 hosts in brackets and an empty host as ":port". */
export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Splits "host:port" (or "[v6]:port", ":port"); undefined when there is no numeric port. */
export function parseAddress(addr: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]*)\]:(-?\d+)$/.exec(addr) ?? /^(.*):(-?\d+)$/.exec(addr);
  return m === null ? undefined : { host: m[1] ?? "", port: Number(m[2]) };
}

function inetLeaf(path: Path, idLabels: number, host: string, port: number): NameTree<BoundName> {
  return NameTree.leaf(
    boundName({ id: path.take(idLabels), residual: path.drop(idLabels), addrs: [formatAddress(host, port)] }),
  );
}

/**
 * The system namers under /$ (Finagle's Namer.global), tried in its order:
 * /$/inet/<host>/<port>, then /$/inet/<port> (also /$/fixedinet), /$/fail
 * (`!`), /$/nil (`$`); any other /$/<name> is an unknown namer, and every
 * other path, /# ones included, is `~`. Ports parse like Integer.parseInt.
 */
export function systemLookup(path: Path): NameTree<BoundName> {
  const segs = path.segments;
  if (segs[0] !== "$" || segs.length < 2) return NameTree.neg;
  const name = segs[1] as string;
  if (name === "inet" || name === "fixedinet") {
    const port4 = segs.length >= 4 ? parseJavaInt(segs[3] as string) : undefined;
    if (port4 !== undefined) return inetLeaf(path, 4, segs[2] as string, port4);
    const port3 = segs.length >= 3 ? parseJavaInt(segs[2] as string) : undefined;
    if (port3 !== undefined) return inetLeaf(path, 3, "", port3);
  }
  if (name === "fail") return NameTree.fail;
  if (name === "nil") return NameTree.empty;
  throw new DtabError("DTAB_ERR_UNKNOWN_NAMER", `Unknown namer: ${name} for path: ${path.show}`);
}

function normalizeNamerTree(tree: NameTree<Path | BoundNameInput>): PartlyBound {
  return NameTree.map(tree, (v) => (v instanceof Path ? v : boundName(v)));
}

/**
 * What the namers say about `path`: each configured namer whose prefix the
 * path starts with, in order, until one answers something other than `~`;
 * then the system namers.
 */
export function namerLookup(namers: readonly Namer[], path: Path): PartlyBound {
  for (const namer of namers) {
    if (!path.startsWith(namer.prefix)) continue;
    let tree: NameTree<Path | BoundNameInput>;
    try {
      tree = namer.lookup(path.drop(namer.prefix.size));
    } catch (e) {
      if (e instanceof DtabError) throw e;
      const why = e instanceof Error ? e.message : String(e);
      throw new DtabError("DTAB_ERR_NAMER_FAILED", `namer ${namer.prefix.show} failed to look up ${path.show}: ${why}`, {
        cause: e,
      });
    }
    if (tree.type !== "neg") return normalizeNamerTree(tree);
  }
  return systemLookup(path);
}
