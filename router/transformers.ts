// Transformers rewrite a bound name's address set for the per-host topology
// (Linkerd's io.l5d.port, io.l5d.localhost, io.l5d.specificHost): the
// outgoing router sends to the router on each instance's host, the incoming
// router keeps only the instances on its own host. Each adds
// /%/<kind>/… in front of the client's name, as Linkerd does.
import { networkInterfaces } from "node:os";
import { Path } from "../dtab/index.ts";
import type { Addr, Address } from "../namer/namers/types.ts";

export type TransformerConfig =
  | { readonly kind: "io.l5d.port"; readonly port: number }
  | { readonly kind: "io.l5d.localhost" }
  | { readonly kind: "io.l5d.specificHost"; readonly host: string };

export interface Transformer {
  readonly kind: string;
  apply(addrs: readonly Address[]): Address[];
}

/** This machine's interface addresses (loopback included), for io.l5d.localhost. */
function localAddresses(): Set<string> {
  const found = new Set<string>(["localhost"]);
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) found.add(i.address);
  return found;
}

function dedupe(addrs: readonly Address[]): Address[] {
  const seen = new Map<string, Address>();
  for (const a of addrs) {
    const key = `${a.host} ${a.port}`;
    if (!seen.has(key)) seen.set(key, a);
  }
  return [...seen.values()];
}

export function createTransformer(config: TransformerConfig): Transformer {
  switch (config.kind) {
    case "io.l5d.port":
      // Several instances on one host become that host's router once.
      return { kind: config.kind, apply: (addrs) => dedupe(addrs.map((a) => ({ ...a, port: config.port }))) };
    case "io.l5d.localhost": {
      const local = localAddresses();
      return { kind: config.kind, apply: (addrs) => addrs.filter((a) => local.has(a.host) || a.host.startsWith("127.")) };
    }
    case "io.l5d.specificHost":
      return { kind: config.kind, apply: (addrs) => addrs.filter((a) => a.host === config.host) };
  }
}

/** Applies transformers in order to an address set; non-bound states pass through. */
export function transformAddr(addr: Addr, transformers: readonly Transformer[]): Addr {
  if (addr.type !== "bound" || transformers.length === 0) return addr;
  let addrs: readonly Address[] = addr.addrs;
  for (const t of transformers) addrs = t.apply(addrs);
  return { type: "bound", addrs, meta: addr.meta };
}

/** The client name after transformers: /%/<kind>/…/<bound id>. */
export function transformedId(id: Path, transformers: readonly Transformer[]): Path {
  let out = id;
  for (const t of transformers) out = Path.of("%", t.kind).concat(out);
  return out;
}
