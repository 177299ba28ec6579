// The router's error catalogue: every response the router makes itself
// (rather than a backend) comes from one of these codes, with its status,
// an `l5d-err` header and a readable body (see respond.ts).

import { CatalogueError, type ErrorCatalogue } from "../lib/errors.ts";

export const ROUTER_ERRORS = {
  ROUTER_ERR_UNIDENTIFIED: { status: 400, description: "No identifier could name the request (no Host, a path with too few segments, …)." },
  ROUTER_ERR_BAD_REQUEST: { status: 400, description: "The request is malformed: missing, duplicate or invalid Host; an absolute URI whose host differs; a header name with '_'; a CONNECT (tunnels are not supported); the * request target (OPTIONS *); a request body that cannot be read (a bad chunk, an unknown transfer coding)." },
  ROUTER_ERR_BAD_DTAB_HEADER: { status: 400, description: "An l5d-dtab or l5d-ctx-dtab header does not parse; the message has the offset." },
  ROUTER_ERR_LOOP: { status: 400, description: "The request came back to this router (its own Via entry), or passed more routers than maxCallDepth." },
  ROUTER_ERR_HEADERS_TOO_LARGE: { status: 431, description: "Too many header fields, or header fields too large." },
  ROUTER_ERR_NO_ROUTE: { status: 502, description: "The name binds to nothing (neg) or to a failure (!): the body names the path, the dtab and the namespace." },
  ROUTER_ERR_BINDING_FAILED: { status: 502, description: "Binding the name failed (a dtab loop, an unknown /$ namer, a namer error)." },
  ROUTER_ERR_CONNECT: { status: 502, description: "Every endpoint tried refused or dropped the connection." },
  ROUTER_ERR_UPSTREAM: { status: 502, description: "The endpoint answered with something that is not valid HTTP, or reset the stream." },
  ROUTER_ERR_BINDING_TIMEOUT: { status: 503, description: "The name was never bound within bindingTimeoutMs (the namer has not answered for it)." },
  ROUTER_ERR_NO_ENDPOINTS: { status: 503, description: "The name binds, but its address set is empty or every endpoint is marked dead." },
  ROUTER_ERR_TIMEOUT: { status: 503, description: "The request did not complete within its timeout (totalTimeoutMs, requestAttemptTimeoutMs or the deadline it carried)." },
  ROUTER_ERR_OVERLOADED: { status: 503, description: "Too many requests in flight for this server or client (maxConcurrentRequests, pending limit): shed at once." },
  ROUTER_ERR_SHUTTING_DOWN: { status: 503, description: "The router is draining and takes no new requests." },
  ROUTER_ERR_INTERNAL: { status: 500, description: "An unexpected failure in the router; its log has the details." },
} as const satisfies ErrorCatalogue;

export type RouterErrorCode = keyof typeof ROUTER_ERRORS;

export class RouterError extends CatalogueError<RouterErrorCode> {
  override readonly name = "RouterError";

  constructor(code: RouterErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(ROUTER_ERRORS, code, message, options.cause);
  }
}

export function isRouterError(e: unknown, code?: RouterErrorCode): e is RouterError {
  return e instanceof RouterError && (code === undefined || e.code === code);
}
