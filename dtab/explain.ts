// A delegation explanation drawn as text for terminals (`meshd dtab
// delegate`, `namerctl delegate`): one line per step, the dentry that made
// it, and what each leaf finally bound to.

import type { AddressJson, DelegateJson } from "./delegate.ts";

/** Meta keys that say where an address runs and how much traffic it takes: shown first, in this order. */
const LEADING_META = ["weight", "zone", "nodeName"];

/**
 * An address's (or address set's) meta as `k=v` pairs, the well-known keys
 * first and the rest in the order given; a value with spaces, quotes or
 * `=` is quoted as JSON so each pair stays one word. "" for no meta.
 */
export function formatMeta(meta: Readonly<Record<string, unknown>> | undefined): string {
  if (meta === undefined) return "";
  const keys = Object.keys(meta).filter((k) => meta[k] !== undefined);
  const ordered = [...LEADING_META.filter((k) => keys.includes(k)), ...keys.filter((k) => !LEADING_META.includes(k))];
  return ordered
    .map((k) => {
      const v = meta[k];
      const shown = typeof v === "string" ? (/^[^\s"'=(),]+$/.test(v) ? v : JSON.stringify(v)) : typeof v === "number" || typeof v === "boolean" ? String(v) : JSON.stringify(v);
      return `${k}=${shown}`;
    })
    .join(" ");
}

/** An address as `ip:port` (`[v6]:port`). */
export function formatAddressJson(a: AddressJson): string {
  return `${a.ip.includes(":") ? `[${a.ip}]` : a.ip}:${a.port}`;
}

/** A union weight as written: whole numbers bare, fractions to at most four places. */
export function formatWeightPlain(w: number): string {
  return Number.isInteger(w) ? String(w) : String(Number(w.toFixed(4)));
}

function describe(node: DelegateJson): string {
  switch (node.type) {
    case "delegate":
      return node.path;
    case "alt":
      return `${node.path}  (alternates: the first that binds wins)`;
    case "union":
      return `${node.path}  (union: balanced by weight)`;
    case "leaf": {
      const addr = node.bound.addr;
      const where =
        addr.type === "bound"
          ? addr.addrs.length === 0
            ? "no addresses"
            : addr.addrs
                .map((a) => {
                  const meta = formatMeta(a.meta);
                  return meta === "" ? formatAddressJson(a) : `${formatAddressJson(a)} (${meta})`;
                })
                .join(", ")
          : addr.type === "failed"
            ? `failed: ${addr.cause}`
            : addr.type;
      const residual = node.bound.path === "/" ? "" : ` (residual ${node.bound.path})`;
      return `${node.path}  ⇒ bound ${node.bound.id}${residual}: ${where}`;
    }
    case "neg":
      return `${node.path}  ✗ no binding (neg)`;
    case "fail":
      return `${node.path}  ✗ binding failed (fail)`;
    case "empty":
      return `${node.path}  ∅ empty (exists, no addresses)`;
    case "exception":
      return `${node.path}  ✗ error: ${node.message}`;
    default: {
      const never: never = node;
      return String(never);
    }
  }
}

function children(node: DelegateJson): { label: string; node: DelegateJson }[] {
  switch (node.type) {
    case "delegate":
      return [{ label: "", node: node.delegate }];
    case "alt":
      return node.alt.map((n) => ({ label: "", node: n }));
    case "union":
      return node.union.map(({ weight, tree }) => ({ label: `${formatWeightPlain(weight)} × `, node: tree }));
    default:
      return [];
  }
}

/**
 * Draws the tree, e.g.
 * ```
 * /svc/users
 * └─ /#/io.l5d.fs/users  via /svc=>/#/io.l5d.fs  ⇒ bound /#/io.l5d.fs/users: 10.0.0.1:8080
 * ```
 */
export function formatDelegateTree(root: DelegateJson): string {
  const lines: string[] = [];
  const walk = (node: DelegateJson, label: string, indent: string, branch: string): void => {
    const via = node.dentry === undefined ? "" : `  via ${node.dentry.prefix}=>${node.dentry.dst}`;
    const text = describe(node);
    const [first, ...rest] = text.split("  ");
    lines.push(`${indent}${branch}${label}${first}${via}${rest.length > 0 ? "  " + rest.join("  ") : ""}`);
    const kids = children(node);
    const childIndent = indent + (branch === "" ? "" : branch === "└─ " ? "   " : "│  ");
    kids.forEach((k, i) => walk(k.node, k.label, childIndent, i === kids.length - 1 ? "└─ " : "├─ "));
  };
  walk(root, "", "", "");
  return lines.join("\n");
}
