// The namer's error catalogue: every failure the naming service reports —
// from its stores, its HTTP API and namerctl — is a NamerError with a stable
// code and the HTTP status the API answers with.

import { CatalogueError, type ErrorCatalogue } from "../lib/errors.ts";

export const NAMER_ERRORS = {
  NAMER_ERR_NOT_FOUND: { status: 404, description: "The namespace does not exist." },
  NAMER_ERR_EXISTS: { status: 409, description: "A namespace with that name already exists (create refuses to overwrite)." },
  NAMER_ERR_VERSION_MISMATCH: {
    status: 412,
    description: "The If-Match version is not the namespace's current version: someone else changed it since it was read.",
  },
  NAMER_ERR_PRECONDITION_REQUIRED: {
    status: 428,
    description: "PUT and DELETE need If-Match with the version being replaced, unless the interface allows unconditional writes.",
  },
  NAMER_ERR_INVALID_DTAB: { status: 400, description: "The dtab in the request body does not parse; the error gives the offset, line and column." },
  NAMER_ERR_INVALID_NAMESPACE: {
    status: 400,
    description: "Namespace names are 1–128 characters of letters, digits, '.', '_' and '-', starting with a letter or digit.",
  },
  NAMER_ERR_INVALID_REQUEST: { status: 400, description: "A query parameter or header of the request is malformed." },
  NAMER_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    description: "Dtab bodies must be application/json ([{\"prefix\",\"dst\"}]) or application/dtab (text, also text/plain).",
  },
  NAMER_ERR_BODY_TOO_LARGE: { status: 413, description: "The request body is larger than the interface accepts." },
  NAMER_ERR_UNAUTHORIZED: { status: 401, description: "Writes need `Authorization: Bearer <token>` with one of the interface's write tokens." },
  NAMER_ERR_FORBIDDEN: {
    status: 403,
    description: "The interface has no write tokens, so it accepts writes only from loopback clients.",
  },
  NAMER_ERR_CROSS_SITE: {
    status: 403,
    description: "A write from a browser page of another site (Origin, Sec-Fetch-Site), or one naming the namer by a DNS name (DNS rebinding) without a bearer the interface checks (its write tokens), is refused.",
  },
  NAMER_ERR_VERSION_UNKNOWN: { status: 404, description: "Rollback target: that version is not in the namespace's kept history." },
  NAMER_ERR_STORE_UNAVAILABLE: {
    status: 503,
    description: "The dtab store (Redis) cannot be reached: writes are refused until it is back; reads are served from the last known state.",
  },
  NAMER_ERR_SHUTTING_DOWN: { status: 503, description: "The namer is shutting down and no longer takes requests." },
  NAMER_ERR_INVALID_PATH: { status: 400, description: "The `path` parameter is missing or is not a path (the message has the parser's offset)." },
  NAMER_ERR_NAME_PENDING: {
    status: 503,
    description: "Discovery has not answered for the name within the wait; retry, or watch it (?watch=true) to get the answer when it comes.",
  },
  NAMER_ERR_BINDING_FAILED: {
    status: 502,
    description: "The name cannot be bound: the dtab loops, names an unknown /$ namer, or a namer failed; `cause` carries the dtab error code.",
  },
  NAMER_ERR_NO_ROUTE: { status: 404, description: "No API endpoint has that method and path." },
  NAMER_ERR_INTERNAL: { status: 500, description: "An unexpected failure inside the namer; details are in its log." },
} as const satisfies ErrorCatalogue;

export type NamerErrorCode = keyof typeof NAMER_ERRORS;

export class NamerError extends CatalogueError<NamerErrorCode> {
  override readonly name = "NamerError";
  /** Extra fields for the JSON error body (offset, current version, …). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: NamerErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(NAMER_ERRORS, code, message, options.cause);
    this.details = options.details ?? {};
  }
}

/** The message of anything thrown. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function isNamerError(e: unknown, code?: NamerErrorCode): e is NamerError {
  return e instanceof NamerError && (code === undefined || e.code === code);
}
