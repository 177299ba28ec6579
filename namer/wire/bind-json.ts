// The bind API's documents (namerd's delegator JSON rooted at the bound
// tree, one per line of a `/api/1/bind/<ns>?watch=true` stream) read back into
// the interpreter's `Binding`, strictly: anything that is not a well-formed
// document is a BindDocumentError, never a crash and never an empty binding.
import { DtabError, NameTree, Path } from "../../dtab/index.ts";
import type { Binding, BoundLeaf } from "../interpreter/interpreter.ts";
import type { Addr, Address } from "../namers/types.ts";

/** Deeper than any tree a dtab can bind to (the binder stops at 100 lookups); deeper means garbage. */
const MAX_DEPTH = 256;

/** Where a document went wrong, as a JSON path (`$.union[1].tree.bound.addr.addrs[0].port`). */
export class BindDocumentError extends Error {
  override readonly name = "BindDocumentError";
  readonly at: string;

  constructor(at: string, message: string, options?: { cause?: unknown }) {
    super(`${at}: ${message}`, options);
    this.at = at;
  }
}

/** A failure the namer reported in the document (an `exception` node) rather than a malformed one. */
class ReportedFailure {
  readonly message: string;
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    this.message = message;
    this.code = code;
  }
}

type Json = Readonly<Record<string, unknown>>;

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return typeof v === "object" ? "an object" : `${typeof v} ${String(v)}`;
}

function object(v: unknown, at: string): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new BindDocumentError(at, `expected an object, got ${describe(v)}`);
  return v as Json;
}

function array(v: unknown, at: string): readonly unknown[] {
  if (!Array.isArray(v)) throw new BindDocumentError(at, `expected an array, got ${describe(v)}`);
  return v;
}

function string(v: unknown, at: string): string {
  if (typeof v !== "string") throw new BindDocumentError(at, `expected a string, got ${describe(v)}`);
  return v;
}

function path(v: unknown, at: string): Path {
  const s = string(v, at);
  try {
    return Path.read(s);
  } catch (e) {
    if (e instanceof DtabError) throw new BindDocumentError(at, `not a path: ${e.message}`, { cause: e });
    throw e;
  }
}

/**
 * Discovery metadata keeps what the address type can hold (strings and finite
 * numbers); anything else a namer might add (flags, nested objects) is dropped
 * rather than failing the whole binding over an informational field.
 */
function meta(v: unknown, at: string): Readonly<Record<string, string | number>> {
  if (v === undefined) return {};
  const o = object(v, at);
  const out: Record<string, string | number> = {};
  for (const [k, value] of Object.entries(o)) {
    if (typeof value === "string" || (typeof value === "number" && Number.isFinite(value))) out[k] = value;
  }
  return out;
}

function address(v: unknown, at: string): Address {
  const o = object(v, at);
  const host = string(o["ip"], `${at}.ip`);
  if (host === "") throw new BindDocumentError(`${at}.ip`, "the address has an empty ip");
  const port = o["port"];
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new BindDocumentError(`${at}.port`, `expected a port number 0–65535, got ${describe(port)}`);
  }
  return { host, port, meta: meta(o["meta"], `${at}.meta`) };
}

/** namerd's address JSON: {"type":"bound","addrs":[{"ip","port","meta"}],"meta":{}} or neg, pending, failed. */
export function decodeAddr(v: unknown, at = "$"): Addr {
  const o = object(v, at);
  const type = o["type"];
  switch (type) {
    case "bound":
      return { type: "bound", addrs: array(o["addrs"], `${at}.addrs`).map((a, i) => address(a, `${at}.addrs[${i}]`)), meta: meta(o["meta"], `${at}.meta`) };
    case "neg":
      return { type: "neg" };
    case "pending":
      return { type: "pending" };
    case "failed":
      return { type: "failed", cause: string(o["cause"], `${at}.cause`) };
    default:
      throw new BindDocumentError(`${at}.type`, `unknown address type ${describe(type)}`);
  }
}

function weightOf(v: unknown, at: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new BindDocumentError(at, `expected a weight (a number ≥ 0), got ${describe(v)}`);
  return v;
}

/**
 * One node. `weight` is that of the nearest enclosing union branch, which the
 * in-process interpreter puts on each leaf; `delegate` nodes (which namerd's
 * bind does not send, but its delegator JSON has) are read through.
 */
function tree(v: unknown, at: string, weight: number | undefined, depth: number): NameTree<BoundLeaf> {
  if (depth > MAX_DEPTH) throw new BindDocumentError(at, `nested deeper than ${MAX_DEPTH} levels`);
  const o = object(v, at);
  if (o["path"] !== undefined) string(o["path"], `${at}.path`);
  const type = o["type"];
  switch (type) {
    case "leaf": {
      const bound = object(o["bound"], `${at}.bound`);
      const leaf: BoundLeaf = {
        id: path(bound["id"], `${at}.bound.id`),
        residual: bound["path"] === undefined ? Path.empty : path(bound["path"], `${at}.bound.path`),
        addr: decodeAddr(bound["addr"], `${at}.bound.addr`),
        ...(weight === undefined ? {} : { weight }),
      };
      return NameTree.leaf(leaf);
    }
    case "alt":
      return NameTree.alt(...array(o["alt"], `${at}.alt`).map((t, i) => tree(t, `${at}.alt[${i}]`, weight, depth + 1)));
    case "union":
      return NameTree.union(
        ...array(o["union"], `${at}.union`).map((b, i) => {
          const branch = object(b, `${at}.union[${i}]`);
          const w = weightOf(branch["weight"], `${at}.union[${i}].weight`);
          return { weight: w, tree: tree(branch["tree"], `${at}.union[${i}].tree`, w, depth + 1) };
        }),
      );
    case "delegate":
      return tree(o["delegate"], `${at}.delegate`, weight, depth + 1);
    case "neg":
      return NameTree.neg;
    case "fail":
      return NameTree.fail;
    case "empty":
      return NameTree.empty;
    case "exception":
      throw new ReportedFailure(string(o["message"], `${at}.message`), o["code"] === undefined ? undefined : string(o["code"], `${at}.code`));
    default:
      throw new BindDocumentError(`${at}.type`, `unknown node type ${describe(type)}`);
  }
}

/** The namer writes a failure's message as "<cause> [<CODE>]"; anything else is a failed binding without a code of its own. */
const WITH_CODE = /^([\s\S]*) \[([A-Z][A-Z0-9]*_ERR_[A-Z0-9_]+)\]$/;

function failed(message: string, code: string | undefined): Binding {
  // A `code` member (which the namer may add) says it plainly; else it is read off the message.
  if (code !== undefined) return { type: "failed", code, cause: message };
  const m = WITH_CODE.exec(message);
  if (m !== null) return { type: "failed", code: m[2] as string, cause: m[1] as string };
  return { type: "failed", code: "NAMER_ERR_BINDING_FAILED", cause: message };
}

/**
 * A parsed bind document as a Binding: a bound tree (`ok`), or `failed` when
 * the namer sent an `exception` node (at the root or inside the tree).
 * Throws BindDocumentError for anything malformed.
 */
export function decodeBinding(doc: unknown): Binding {
  try {
    return { type: "ok", tree: tree(doc, "$", undefined, 0) };
  } catch (e) {
    if (e instanceof ReportedFailure) return failed(e.message, e.code);
    throw e;
  }
}

/** One line of a bind stream (or a one-shot bind body) as a Binding; throws BindDocumentError. */
export function parseBindDocument(text: string): Binding {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    // Also what a namer's plain-text "error, stream closed" last line looks like.
    throw new BindDocumentError("$", `not JSON: ${describe(text)}`, { cause: e });
  }
  return decodeBinding(doc);
}
