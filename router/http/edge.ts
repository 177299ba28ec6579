// The request rules Node's parser lets through and a forwarding proxy must
// enforce itself (reliability-security §4): one valid Host, header count
// limits, no '_' in header names, absolute-form targets rebuilt into Host,
// and the hop-by-hop headers stripped in both directions (RFC 9110 §7.6.1).
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { RouterError } from "../errors.ts";

/** Headers that describe one connection, never forwarded (and Expect, which the router answers itself). */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
]);

export interface RequestTarget {
  /** The authority the request is for: "host" or "host:port" as sent, validated. */
  readonly authority: string;
  /** The origin-form target to forward: path and query, no fragment. */
  readonly path: string;
  /** The request was in absolute form (http_proxy mode). */
  readonly absolute: boolean;
}

// reg-name (RFC 3986) or an IPv4 address, or an IPv6 literal in brackets, then an optional port.
const AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+;=%-]+)(?::[0-9]{1,5})?$/;

export function validAuthority(value: string): boolean {
  if (value === "" || value.length > 255 || !AUTHORITY.test(value)) return false;
  const colon = value.lastIndexOf(":");
  if (colon > 0 && !value.endsWith("]")) {
    const port = Number(value.slice(colon + 1));
    if (!(port >= 1 && port <= 65535)) return false;
  }
  return true;
}

/**
 * Checks the request line and headers, returning what to route on. Throws
 * RouterError BAD_REQUEST or HEADERS_TOO_LARGE.
 */
export function checkRequest(req: IncomingMessage, maxHeaders: number): RequestTarget {
  const raw = req.rawHeaders;
  // Node drops headers past its maxHeadersCount silently: count them ourselves and refuse.
  if (raw.length / 2 >= maxHeaders) throw new RouterError("ROUTER_ERR_HEADERS_TOO_LARGE", `more than ${maxHeaders - 1} header fields`);
  let hosts = 0;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === "host") {
      hosts++;
      host = raw[i + 1];
    } else if (name.includes("_")) {
      // A backend that folds '_' into '-' would see headers (even framing ones) we did not.
      throw new RouterError("ROUTER_ERR_BAD_REQUEST", `header names with '_' are refused: ${JSON.stringify(name.slice(0, 64))}`);
    }
  }
  if (hosts > 1) throw new RouterError("ROUTER_ERR_BAD_REQUEST", "more than one Host header");
  if (req.method === "CONNECT") throw new RouterError("ROUTER_ERR_BAD_REQUEST", "CONNECT tunnels are not supported");

  let url = req.url ?? "/";
  const hash = url.indexOf("#");
  if (hash >= 0) url = url.slice(0, hash);
  // OPTIONS * asks about a server, not a resource (and '*' means nothing with another method); the upstream client can only send paths.
  if (url === "*") throw new RouterError("ROUTER_ERR_BAD_REQUEST", `the asterisk request target cannot be forwarded (${req.method} *)`);
  if (url.startsWith("/")) {
    if (host === undefined || host === "") {
      if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) return { authority: "", path: url, absolute: false };
      throw new RouterError("ROUTER_ERR_BAD_REQUEST", "missing Host header");
    }
    if (!validAuthority(host)) throw new RouterError("ROUTER_ERR_BAD_REQUEST", `invalid Host header ${JSON.stringify(host.slice(0, 100))}`);
    return { authority: host, path: url, absolute: false };
  }
  // Absolute form (http_proxy): the target's authority replaces Host (RFC 9112 §3.2.2).
  const match = /^http:\/\/([^/?#]*)([^#]*)$/i.exec(url);
  if (match === null) throw new RouterError("ROUTER_ERR_BAD_REQUEST", `unsupported request target ${JSON.stringify(url.slice(0, 100))} (only http:// absolute URIs)`);
  const authority = match[1] as string;
  if (authority.includes("@")) throw new RouterError("ROUTER_ERR_BAD_REQUEST", "credentials in the request target are refused");
  if (!validAuthority(authority)) throw new RouterError("ROUTER_ERR_BAD_REQUEST", `invalid authority in the request target ${JSON.stringify(authority.slice(0, 100))}`);
  const rest = match[2] as string;
  return { authority, path: rest === "" ? "/" : rest.startsWith("?") ? `/${rest}` : rest, absolute: true };
}

/** Names listed in a Connection header (lower-case), which are hop-by-hop too. */
function connectionNamed(value: string | string[] | undefined): Set<string> | undefined {
  // The usual value names only Keep-Alive, which is hop-by-hop anyway.
  if (value === undefined || (typeof value === "string" && value.length === 10 && value.toLowerCase() === "keep-alive")) return undefined;
  const named = new Set<string>();
  for (const v of Array.isArray(value) ? value : [value]) for (const n of v.split(",")) named.add(n.trim().toLowerCase());
  return named;
}

/**
 * The request headers to send upstream as a flat [name, value, …] list,
 * keeping the client's order, case and repeats, minus hop-by-hop fields,
 * Host and Expect (set by the caller), and whatever `drop` says.
 */
export function forwardRequestHeaders(req: IncomingMessage, drop: (lowerName: string) => boolean): string[] {
  const raw = req.rawHeaders;
  const named = connectionNamed(req.headers.connection);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower === "host" || lower === "expect" || named?.has(lower) === true || drop(lower)) continue;
    out.push(name, raw[i + 1] as string);
  }
  return out;
}

/** Response headers from upstream (undici's lower-cased object) as a flat list, minus hop-by-hop fields. */
export function forwardResponseHeaders(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>, drop: (lowerName: string) => boolean): string[] {
  const named = connectionNamed(headers["connection"]);
  const out: string[] = [];
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || named?.has(name) === true || drop(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, value);
  }
  return out;
}

/** The value of a header in a flat list (first match, case-insensitive). */
export function findHeader(flat: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < flat.length; i += 2) if ((flat[i] as string).toLowerCase() === lowerName) return flat[i + 1];
  return undefined;
}
