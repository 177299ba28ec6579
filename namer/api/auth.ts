// Who may write: bearer tokens from the interface's config, compared in
// constant time; with no tokens configured, only loopback clients. The
// result names the writer for history and audit, never the secret itself.
import { timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { FastifyRequest } from "fastify";
import { presentedBearer, tokenDigest } from "../../lib/admin.ts";
import { isLoopback } from "../../lib/loopback.ts";
import { NamerError } from "../errors.ts";
import type { WriteTokenConfig } from "../config.ts";

interface Token {
  readonly name: string;
  readonly digest: Buffer;
}

/** Optional header namerctl sends with the operator's user name, recorded as part of the actor. */
export const USER_HEADER = "x-meshd-user";

/** Resolves configured tokens (reading token files) into digests; secrets are not kept in clear. */
export async function loadWriteTokens(configured: readonly WriteTokenConfig[] | undefined): Promise<readonly Token[]> {
  const tokens: Token[] = [];
  for (const [i, t] of (configured ?? []).entries()) {
    if (typeof t === "string") tokens.push({ name: `token-${i + 1}`, digest: tokenDigest(t) });
    else if ("token" in t) tokens.push({ name: t.name, digest: tokenDigest(t.token) });
    else {
      let secret: string;
      try {
        secret = (await readFile(t.file, "utf8")).trim();
      } catch (e) {
        throw new Error(`write token "${t.name}": cannot read ${t.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
      }
      if (secret === "") throw new Error(`write token "${t.name}": ${t.file} is empty`);
      tokens.push({ name: t.name, digest: tokenDigest(secret) });
    }
  }
  return tokens;
}

function userOf(request: FastifyRequest): string | undefined {
  const raw = request.headers[USER_HEADER];
  const user = (Array.isArray(raw) ? raw[0] : raw)?.replace(/[^A-Za-z0-9._@+-]/g, "").slice(0, 64);
  return user === undefined || user === "" ? undefined : user;
}

/** The token the request's bearer is, undefined if none of them, null without a bearer. */
function presentedToken(request: FastifyRequest, tokens: readonly Token[]): Token | undefined | null {
  const bearer = presentedBearer(request);
  if (bearer === undefined) return null;
  const presented = tokenDigest(bearer);
  let found: Token | undefined;
  // Compare against every token so timing does not reveal which one (or whether any) matched.
  for (const t of tokens) if (timingSafeEqual(t.digest, presented) && found === undefined) found = t;
  return found;
}

/** Whether the request's bearer is one of the tokens. */
export function bearerIsOneOf(request: FastifyRequest, tokens: readonly Token[]): boolean {
  return presentedToken(request, tokens) != null;
}

/**
 * Checks a write request and returns the actor to record. Throws
 * NAMER_ERR_UNAUTHORIZED (no or wrong token) or NAMER_ERR_FORBIDDEN (no
 * tokens configured and the client is not on loopback).
 */
export function authorizeWrite(request: FastifyRequest, tokens: readonly Token[]): string {
  const user = userOf(request);
  if (tokens.length === 0) {
    if (!isLoopback(request.ip)) {
      throw new NamerError("NAMER_ERR_FORBIDDEN", `writes from ${request.ip} are refused: this interface has no write tokens, so only loopback clients may write`);
    }
    return user === undefined ? "local" : `local:${user}`;
  }
  const found = presentedToken(request, tokens);
  if (found === null) {
    throw new NamerError("NAMER_ERR_UNAUTHORIZED", "this write needs `Authorization: Bearer <token>` (namerctl: --token or NAMERCTL_TOKEN)");
  }
  if (found === undefined) throw new NamerError("NAMER_ERR_UNAUTHORIZED", "the bearer token is not one of this interface's write tokens");
  return user === undefined ? found.name : `${found.name}:${user}`;
}
