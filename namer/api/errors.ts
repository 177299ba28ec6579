// The one place API failures become HTTP responses: a status from the error
// catalogue and a JSON body {"error": {"code", "message", ...details}}.
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { DtabError } from "../../dtab/index.ts";
import { NamerError, type NamerErrorCode } from "../errors.ts";

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string } & Readonly<Record<string, unknown>>;
}

/** Fastify's own errors, in namer terms. */
function fromFastify(e: FastifyError): NamerError | undefined {
  const as = (code: NamerErrorCode, message: string): NamerError => new NamerError(code, message, { cause: e });
  switch (e.code) {
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return as("NAMER_ERR_UNSUPPORTED_MEDIA_TYPE", "dtab bodies must be application/json ([{\"prefix\",\"dst\"}]) or application/dtab (dtab text)");
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return as("NAMER_ERR_BODY_TOO_LARGE", e.message);
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return as("NAMER_ERR_INVALID_DTAB", "the JSON body is empty: send a list of {\"prefix\", \"dst\"} objects");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return as("NAMER_ERR_INVALID_REQUEST", e.message);
    case "FST_ERR_BAD_URL":
      // A target that does not decode, or CONNECT's host:port.
      return as("NAMER_ERR_INVALID_REQUEST", `the request target is not a valid path: ${e.message}`);
    default:
      if (e instanceof SyntaxError || e.code === "FST_ERR_CTP_INVALID_JSON_BODY") return as("NAMER_ERR_INVALID_DTAB", `the body is not valid JSON: ${e.message}`);
      if (e.validation !== undefined) return as("NAMER_ERR_INVALID_REQUEST", e.message);
      return undefined;
  }
}

export function toNamerError(e: unknown): NamerError {
  if (e instanceof NamerError) return e;
  if (e instanceof DtabError) {
    return new NamerError("NAMER_ERR_INVALID_DTAB", e.message, { cause: e, details: e.offset === undefined ? {} : { offset: e.offset } });
  }
  if (e instanceof Error && "code" in e) {
    const mapped = fromFastify(e as FastifyError);
    if (mapped !== undefined) return mapped;
  }
  return new NamerError("NAMER_ERR_INTERNAL", "internal error (see the namer's log)", { cause: e });
}

export function errorBody(e: NamerError): ErrorBody {
  return { error: { code: e.code, message: e.message, ...e.details } };
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const e = toNamerError(error);
  if (e.code === "NAMER_ERR_INTERNAL") request.log.error({ err: error }, "request failed");
  else request.log.info({ code: e.code, status: e.status }, e.message);
  reply.code(e.status).type("application/json; charset=utf-8").send(JSON.stringify(errorBody(e)) + "\n");
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  const e = new NamerError("NAMER_ERR_NO_ROUTE", `no API endpoint for ${request.method} ${request.url.split("?")[0]}`);
  reply.code(e.status).type("application/json; charset=utf-8").send(JSON.stringify(errorBody(e)) + "\n");
}
