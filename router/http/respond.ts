// The one place router-made failures become HTTP responses: the status
// from the error catalogue, `l5d-err` with the reason, and a short
// readable body. On servers that clear context (untrusted clients) the
// l5d-* header and the detail are left out, as Linkerd does.
import type { ServerResponse } from "node:http";
import { RouterError } from "../errors.ts";

/** Header values must be one line of visible latin-1: anything else would make Node throw. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?").slice(0, 1024);
}

export function toRouterError(e: unknown): RouterError {
  if (e instanceof RouterError) return e;
  return new RouterError("ROUTER_ERR_INTERNAL", "internal error (see the router's log)", { cause: e });
}

/**
 * Answers `res` with `error`, unless a response is already under way — then
 * the connection is reset, because a half-sent response cannot be fixed.
 */
export function respondError(res: ServerResponse, error: RouterError, options: { clearContext: boolean; extraHeaders?: readonly string[] }): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  if (res.destroyed || res.writableEnded) return;
  const body = options.clearContext ? `${error.status} ${error.code}\n` : `${error.message}\n`;
  const headers: string[] = ["content-type", "text/plain; charset=utf-8", "content-length", String(Buffer.byteLength(body))];
  if (!options.clearContext) {
    headers.push("l5d-err", headerSafe(error.message), "l5d-err-code", error.code);
    if (options.extraHeaders !== undefined) headers.push(...options.extraHeaders);
  }
  res.writeHead(error.status, headers);
  res.end(body);
}
