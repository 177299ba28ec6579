// Request parameters every namer API resource reads the same way: the
// namespace in the URL and the `watch` switch.
import type { FastifyRequest } from "fastify";
import { NamerError } from "../errors.ts";

/** Namespace names: safe in URLs, Redis keys and file names alike. */
export const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export type NsRequest = FastifyRequest<{ Params: { ns: string }; Querystring: Record<string, string | undefined> }>;

export function namespaceOf(request: NsRequest): string {
  const ns = request.params.ns;
  if (!NAMESPACE.test(ns)) {
    throw new NamerError(
      "NAMER_ERR_INVALID_NAMESPACE",
      `invalid namespace name ${JSON.stringify(ns.slice(0, 140))}: use 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return ns;
}

/** `?watch=true` (or namerd's `?watch=1`) asks for a stream of changes. */
export function isWatch(request: FastifyRequest<{ Querystring: Record<string, string | undefined> }>): boolean {
  const w = request.query["watch"];
  return w === "true" || w === "1";
}
