// Identifiers name a request with a logical path (Linkerd 1's HTTP
// identifiers): by Host header (the default), by method and host, by URI
// path segments, by a header holding a path, or statically. A list of
// identifiers tries each in turn.
import type { IncomingHttpHeaders } from "node:http";
import { DtabError, Path } from "../../dtab/index.ts";

/** What identifiers look at: the validated request target and the headers. */
export interface IdentifyRequest {
  readonly method: string;
  /** "1.1" or "1.0" */
  readonly httpVersion: string;
  /** The validated authority (Host, or the absolute URI's). */
  readonly authority: string;
  /** The origin-form target (path and query). */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

export interface Identified {
  readonly name: Path;
  /** The target to forward (io.l5d.path with consume rewrites it). */
  readonly path: string;
}

/** Names a request, or says why it cannot (a string). */
export type Identifier = (req: IdentifyRequest) => Identified | string;

export type IdentifierConfig =
  | { readonly kind: "io.l5d.header.token"; readonly header: string }
  | { readonly kind: "io.l5d.methodAndHost"; readonly httpUriInDst: boolean }
  | { readonly kind: "io.l5d.path"; readonly segments: number; readonly consume: boolean }
  | { readonly kind: "io.l5d.header"; readonly header: string }
  | { readonly kind: "io.l5d.static"; readonly path: string };

/** Paths the header-token identifier keeps made, by header value. */
const TOKEN_PATHS_KEPT = 1024;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v.at(-1) : v;
}

function splitPath(target: string): { segments: string[]; query: string } {
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  return { segments: path.split("/").filter((s) => s !== ""), query: q < 0 ? "" : target.slice(q) };
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function createIdentifier(config: IdentifierConfig, dstPrefix: Path): Identifier {
  switch (config.kind) {
    case "io.l5d.header.token": {
      const name = config.header.toLowerCase();
      // Most traffic names a few hosts again and again: their paths are made once (paths are immutable).
      const paths = new Map<string, Path>();
      return (req) => {
        const value = name === "host" ? req.authority : header(req.headers, name);
        if (value === undefined || value === "") return `no ${config.header} header`;
        let path = paths.get(value);
        if (path === undefined) {
          path = dstPrefix.concat(Path.of(value));
          // Bounded: a client sending endless distinct values empties it now and then, never grows it.
          if (paths.size >= TOKEN_PATHS_KEPT) paths.clear();
          paths.set(value, path);
        }
        return { name: path, path: req.path };
      };
    }
    case "io.l5d.methodAndHost":
      return (req) => {
        const { segments } = splitPath(req.path);
        const uri = config.httpUriInDst ? segments.map(decodeSegment).filter((s) => s !== "") : [];
        if (req.httpVersion === "1.0") return { name: dstPrefix.concat(Path.of("1.0", req.method, ...uri)), path: req.path };
        if (req.authority === "") return "no Host header";
        return { name: dstPrefix.concat(Path.of("1.1", req.method, req.authority.toLowerCase(), ...uri)), path: req.path };
      };
    case "io.l5d.path":
      return (req) => {
        const { segments, query } = splitPath(req.path);
        if (segments.length < config.segments) return `the path has fewer than ${config.segments} segment(s)`;
        const taken = segments.slice(0, config.segments).map(decodeSegment);
        if (taken.some((s) => s === "")) return "an empty path segment";
        const rest = config.consume ? "/" + segments.slice(config.segments).join("/") + query : req.path;
        return { name: dstPrefix.concat(Path.of(...taken)), path: rest };
      };
    case "io.l5d.header": {
      const name = config.header.toLowerCase();
      return (req) => {
        const value = header(req.headers, name);
        if (value === undefined || value === "") return `no ${config.header} header`;
        try {
          return { name: dstPrefix.concat(Path.read(value)), path: req.path };
        } catch (e) {
          return `${config.header} is not a path: ${e instanceof DtabError ? e.message : String(e)}`;
        }
      };
    }
    case "io.l5d.static": {
      const name = dstPrefix.concat(Path.read(config.path));
      return (req) => ({ name, path: req.path });
    }
  }
}

/** Tries each identifier in turn; the first that names the request wins. */
export function identifierChain(identifiers: readonly Identifier[]): Identifier {
  if (identifiers.length === 1) return identifiers[0] as Identifier;
  return (req) => {
    const reasons: string[] = [];
    for (const identify of identifiers) {
      const result = identify(req);
      if (typeof result !== "string") return result;
      reasons.push(result);
    }
    return reasons.join("; ");
  };
}
