// Bound names drawn for terminals (`namerctl bind`, `namerctl resolve`): the
// bound tree with its weights, bound ids, residuals and every address with
// its meta, one line each, and an address set as one address a line.
import { formatAddressJson, formatMeta, formatWeightPlain } from "../../dtab/explain.ts";
import type { AddrJson, AddressJson, DelegateJson } from "../../dtab/index.ts";

/** One line of a drawing and the lines drawn under it. */
interface Drawn {
  readonly text: string;
  readonly children: readonly Drawn[];
}

function draw(root: Drawn): string {
  const lines = [root.text];
  const walk = (kids: readonly Drawn[], indent: string): void =>
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      lines.push(`${indent}${last ? "└─ " : "├─ "}${k.text}`);
      walk(k.children, indent + (last ? "   " : "│  "));
    });
  walk(root.children, "");
  return lines.join("\n");
}

/** Addresses one a line, padded so their meta lines up. */
function addressLines(addrs: readonly AddressJson[]): string[] {
  const shown = addrs.map(formatAddressJson);
  const width = Math.max(0, ...shown.map((s) => s.length));
  return addrs.map((a, i) => {
    const meta = formatMeta(a.meta);
    const at = shown[i] ?? "";
    return meta === "" ? at : `${at.padEnd(width)}  ${meta}`;
  });
}

function count(n: number): string {
  return n === 0 ? "no addresses" : n === 1 ? "1 address" : `${n} addresses`;
}

/** What a leaf's address set is, in a few words (the addresses themselves are drawn under it). */
function addrSummary(addr: AddrJson): string {
  switch (addr.type) {
    case "bound": {
      const meta = formatMeta(addr.meta);
      return meta === "" ? count(addr.addrs.length) : `${count(addr.addrs.length)}  ${meta}`;
    }
    case "neg":
      return "no addresses (neg: discovery does not know the name)";
    case "pending":
      return "pending (discovery has not answered yet)";
    case "failed":
      return `✗ discovery failed: ${addr.cause}`;
    default: {
      const never: never = addr;
      return String(never);
    }
  }
}

function bindNode(node: DelegateJson, label: string): Drawn {
  switch (node.type) {
    case "leaf": {
      const { id, path, addr } = node.bound;
      const residual = path === "/" ? "" : `  residual ${path}`;
      const addrs = addr.type === "bound" ? addressLines(addr.addrs).map((text) => ({ text, children: [] })) : [];
      return { text: `${label}${id}${residual}  ${addrSummary(addr)}`, children: addrs };
    }
    case "alt":
      return { text: `${label}alternates (the first with addresses is used)`, children: node.alt.map((n) => bindNode(n, "")) };
    case "union":
      return { text: `${label}union (balanced by weight)`, children: node.union.map((w) => bindNode(w.tree, `${formatWeightPlain(w.weight)} × `)) };
    case "delegate":
      // Bind documents hold bound trees only; drawn anyway so a namer that sends more is still readable.
      return { text: `${label}→ ${node.path}`, children: [bindNode(node.delegate, "")] };
    case "neg":
      return { text: `${label}✗ no binding (neg)`, children: [] };
    case "fail":
      return { text: `${label}✗ binding fails (fail)`, children: [] };
    case "empty":
      return { text: `${label}∅ empty (bound, no addresses)`, children: [] };
    case "exception":
      return { text: `${label}✗ error: ${node.message}`, children: [] };
    default: {
      const never: never = node;
      return { text: String(never), children: [] };
    }
  }
}

/**
 * Draws a bind document, e.g.
 * ```
 * /svc/users  union (balanced by weight)
 * ├─ 9 × /#/io.l5d.fs/users  2 addresses
 * │  ├─ 10.0.0.1:8080
 * │  └─ 10.0.0.2:8080  weight=3 zone=eu-1a
 * └─ 1 × /#/io.l5d.fs/users-v2  residual /extra  1 address
 *    └─ 10.0.0.9:8080
 * ```
 */
export function formatBindTree(root: DelegateJson): string {
  const drawn = bindNode(root, "");
  // The root's line starts with the path that was bound; "⇒" reads "binds to" where it is a single name.
  return draw({ text: `${root.path}${root.type === "leaf" ? " ⇒ " : "  "}${drawn.text}`, children: drawn.children });
}

/** An address set (`namerctl resolve`): one address a line with its meta, or what the set is when it has none. */
export function formatAddrSet(addr: AddrJson): string {
  switch (addr.type) {
    case "bound": {
      if (addr.addrs.length === 0) return "no addresses (the name is bound, but its address set is empty)";
      const meta = formatMeta(addr.meta);
      return [...addressLines(addr.addrs), ...(meta === "" ? [] : [`(set: ${meta})`])].join("\n");
    }
    case "neg":
      return "no addresses: the path does not bind to anything (neg)";
    case "pending":
      return "pending: discovery has not answered yet";
    case "failed":
      return `failed: ${addr.cause}`;
    default: {
      const never: never = addr;
      return String(never);
    }
  }
}
