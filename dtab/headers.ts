// Per-request dtab overrides carried in HTTP headers: Linkerd's l5d-ctx-dtab
// (the context a previous hop forwards) and l5d-dtab (the user's override),
// and Finagle's Dtab-Local and legacy X-Dtab-NN-A/B pairs (§11). The result
// is the request-local dtab, appended after the base dtab by the caller.

import { Dentry, Prefix } from "./dentry.ts";
import { Dtab } from "./dtab.ts";
import { DtabError } from "./errors.ts";
import { NameTree } from "./name-tree.ts";
import type { Path } from "./path.ts";

export type HeaderValue = string | readonly string[] | undefined;
/** Node's IncomingHttpHeaders, a plain record, or name/value pairs (a Map, WHATWG Headers). */
export type HeaderSource = Readonly<Record<string, HeaderValue>> | Iterable<readonly [string, string]>;

export const L5D_CTX_DTAB = "l5d-ctx-dtab";
export const L5D_DTAB = "l5d-dtab";
export const DTAB_LOCAL = "dtab-local";

function entries(headers: HeaderSource): [string, string][] {
  const out: [string, string][] = [];
  const iterable = Symbol.iterator in headers ? (headers as Iterable<readonly [string, string]>) : undefined;
  if (iterable !== undefined) {
    for (const [k, v] of iterable) out.push([k.toLowerCase(), v]);
    return out;
  }
  for (const [k, v] of Object.entries(headers as Readonly<Record<string, HeaderValue>>)) {
    if (v === undefined) continue;
    for (const one of typeof v === "string" ? [v] : v) out.push([k.toLowerCase(), one]);
  }
  return out;
}

/** Every value of header `name` (case-insensitive), in order. */
export function headerValues(headers: HeaderSource, name: string): string[] {
  const lower = name.toLowerCase();
  return entries(headers)
    .filter(([k]) => k === lower)
    .map(([, v]) => v);
}

function readHeaderDtab(header: string, value: string): Dtab {
  try {
    return Dtab.read(value);
  } catch (e) {
    if (!(e instanceof DtabError)) throw e;
    throw new DtabError("DTAB_ERR_INVALID_HEADER", `invalid ${header} header: ${e.message}`, {
      ...(e.offset === undefined ? {} : { offset: e.offset }),
      input: value,
      cause: e,
    });
  }
}

const decoder = new TextDecoder("utf-8");

function decodeBase64(header: string, value: string): string {
  let binary: string;
  try {
    binary = atob(value.trim());
  } catch (e) {
    throw new DtabError("DTAB_ERR_INVALID_HEADER", `invalid ${header} header: not base64`, { input: value, cause: e });
  }
  return decoder.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

/**
 * Finagle's per-request dtab: legacy X-Dtab-NN-A (base64 prefix) and
 * X-Dtab-NN-B (base64 tree) pairs in header-name order, then every
 * Dtab-Local value split on commas.
 */
export function readFinagleLocalDtab(headers: HeaderSource): Dtab {
  const all = entries(headers);
  const xdtab = all.filter(([k]) => k.startsWith("x-dtab-")).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // Pairing is checked for every header before any value is decoded (Finagle's order).
  const pairs: [[string, string], [string, string]][] = [];
  for (let i = 0; i < xdtab.length; i += 2) {
    const a = xdtab[i] as [string, string];
    const b = xdtab[i + 1];
    const index = /^x-dtab-(.+)-a$/.exec(a[0])?.[1];
    if (b === undefined || index === undefined || b[0] !== `x-dtab-${index}-b`) {
      throw new DtabError("DTAB_ERR_INVALID_HEADER", `Unmatched X-Dtab headers: ${a[0]} has no matching -b header`);
    }
    pairs.push([a, b]);
  }
  const dentries: Dentry[] = [];
  for (const [[aName, aValue], b] of pairs) {
    const prefixText = decodeBase64(aName, aValue);
    const treeText = decodeBase64(b[0], b[1]);
    let prefix: Prefix;
    let tree: NameTree<Path>;
    try {
      prefix = Prefix.read(prefixText);
    } catch (e) {
      throw new DtabError("DTAB_ERR_INVALID_HEADER", `Invalid prefix: ${prefixText} (${aName})`, { input: prefixText, cause: e });
    }
    try {
      tree = NameTree.read(treeText);
    } catch (e) {
      throw new DtabError("DTAB_ERR_INVALID_HEADER", `Invalid name: ${treeText} (${b[0]})`, { input: treeText, cause: e });
    }
    dentries.push(new Dentry(prefix, tree));
  }
  const local = all
    .filter(([k]) => k === DTAB_LOCAL)
    .flatMap(([, v]) => v.split(","))
    .map((piece) => readHeaderDtab("dtab-local", piece));
  return Dtab.concat(Dtab.of(dentries), ...local);
}

export interface RequestDtabOptions {
  /** Honour the user's l5d-dtab (false on servers that clear context). Default true. */
  readonly userDtab?: boolean;
  /** Also read Finagle's Dtab-Local and X-Dtab headers, ahead of Linkerd's. Default false. */
  readonly dtabLocal?: boolean;
}

/**
 * The request-local dtab: [Dtab-Local ++] every l5d-ctx-dtab value ++ every
 * l5d-dtab value, each read whole (no comma splitting), so the user's
 * override has the highest precedence. Throws DtabError
 * (DTAB_ERR_INVALID_HEADER, status 400) naming the header and the offset.
 */
export function readRequestDtab(headers: HeaderSource, opts: RequestDtabOptions = {}): Dtab {
  const parts: Dtab[] = [];
  if (opts.dtabLocal === true) parts.push(readFinagleLocalDtab(headers));
  for (const v of headerValues(headers, L5D_CTX_DTAB)) parts.push(readHeaderDtab(L5D_CTX_DTAB, v));
  if (opts.userDtab !== false) {
    for (const v of headerValues(headers, L5D_DTAB)) parts.push(readHeaderDtab(L5D_DTAB, v));
  }
  return Dtab.concat(...parts);
}
