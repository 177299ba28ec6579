// The dtab resource of the namer API, in namerd's io.l5d.httpController
// shapes: list, get/head, create, compare-and-set update, delete, watch
// streams; plus what namerd lacks: history, audit and rollback.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Dtab, DtabError } from "../../dtab/index.ts";
import { NamerError } from "../errors.ts";
import type { VersionedDtab, WriteResult } from "../store/types.ts";
import { authorizeWrite } from "./auth.ts";
import type { ApiContext } from "./context.ts";
import { isWatch, namespaceOf, type NsRequest } from "./params.ts";
import { DocumentStream } from "./stream.ts";

export const DTAB_MEDIA_TYPE = "application/dtab";

/** The dtab representation the client asked for: text (application/dtab, text/plain) or JSON (the default). */
function wantsText(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? "";
  for (const part of accept.split(",")) {
    const type = part.split(";")[0]?.trim().toLowerCase();
    if (type === DTAB_MEDIA_TYPE || type === "text/plain") return true;
    if (type === "application/json") return false;
  }
  return false;
}

const render = (dtab: Dtab, text: boolean): string => (text ? dtab.show : JSON.stringify(dtab.toJSON()));

/** If-Match as a version: quotes and a weak prefix are tolerated; "*" means any existing version. */
function ifMatch(request: FastifyRequest): string | undefined {
  const raw = request.headers["if-match"];
  if (raw === undefined) return undefined;
  const value = raw.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
  if (value === "" || value.includes(",")) {
    throw new NamerError("NAMER_ERR_INVALID_REQUEST", `If-Match must hold one version (as sent in ETag), got ${JSON.stringify(raw.slice(0, 80))}`);
  }
  return value;
}

/** The request body as a Dtab: JSON [{prefix,dst}] (or {"dtab": [...]}, as `namerctl dtab get --json` writes) or dtab text. */
function bodyDtab(request: FastifyRequest): Dtab {
  const body: unknown = request.body;
  try {
    if (typeof body === "string") return Dtab.read(body);
    if (body !== null && typeof body === "object" && !Array.isArray(body) && "dtab" in body) {
      return Dtab.fromJSON((body as { dtab: unknown }).dtab);
    }
    if (body === undefined) {
      throw new NamerError("NAMER_ERR_UNSUPPORTED_MEDIA_TYPE", "a dtab body is required, as application/json or application/dtab");
    }
    return Dtab.fromJSON(body);
  } catch (e) {
    if (e instanceof DtabError) {
      throw new NamerError("NAMER_ERR_INVALID_DTAB", `invalid dtab: ${e.message}`, {
        cause: e,
        details: e.offset === undefined ? {} : { offset: e.offset },
      });
    }
    throw e;
  }
}

function limitOf(request: FastifyRequest<{ Querystring: Record<string, string | undefined> }>): number | undefined {
  const raw = request.query["limit"];
  if (raw === undefined) return undefined;
  if (!/^[1-9][0-9]{0,5}$/.test(raw)) throw new NamerError("NAMER_ERR_INVALID_REQUEST", `limit must be a positive whole number, got ${JSON.stringify(raw.slice(0, 20))}`);
  return Number(raw);
}

function writeHeaders(reply: FastifyReply, result: WriteResult): void {
  reply.header("etag", result.version);
  if (result.replication !== undefined) {
    const r = result.replication;
    reply.header("x-meshd-replication", `acknowledged=${r.acknowledged}; requested=${r.requested}; timeout-ms=${r.timeoutMs}`);
  }
}

export function dtabRoutes(ctx: ApiContext) {
  const { store, streams } = ctx;

  const writer = (request: FastifyRequest) => ({ actor: authorizeWrite(request, ctx.tokens), source: request.ip });

  /** Records a successful write (metrics, log) and puts its version (and replication) on the response. */
  const written = (request: FastifyRequest, reply: FastifyReply, action: string, ns: string, result: WriteResult): FastifyReply => {
    ctx.metrics.writes.inc({ action, result: "ok" });
    request.log.info({ namespace: ns, action, version: result.version, replication: result.replication }, `dtab ${action}`);
    if (result.replication !== undefined && result.replication.acknowledged < result.replication.requested) {
      request.log.warn({ namespace: ns, replication: result.replication }, "write acknowledged by fewer replicas than requested");
    }
    writeHeaders(reply, result);
    return reply;
  };

  const requireCondition = (request: FastifyRequest, verb: string): string | undefined => {
    const expected = ifMatch(request);
    if (expected === undefined && !ctx.allowUnconditionalWrites) {
      throw new NamerError(
        "NAMER_ERR_PRECONDITION_REQUIRED",
        `${verb} needs If-Match with the version you read (the ETag of GET); this interface does not allow unconditional writes`,
      );
    }
    return expected;
  };

  return async function plugin(app: FastifyInstance): Promise<void> {
    const listHandler = async (request: FastifyRequest<{ Querystring: Record<string, string | undefined> }>, reply: FastifyReply) => {
      if (isWatch(request)) {
        const stream = new DocumentStream(request, reply, streams, { contentType: "application/x-ndjson; charset=utf-8", keepAliveMs: ctx.keepAliveMs });
        ctx.metrics.watches.inc({ resource: "dtabs" });
        stream.onClose(() => ctx.metrics.watches.dec({ resource: "dtabs" }));
        stream.onClose(store.watchNamespaces((names) => stream.send(JSON.stringify(names))));
        return;
      }
      reply.type("application/json; charset=utf-8").send(JSON.stringify(await store.list()) + "\n");
    };
    app.get("/api/1/dtabs", listHandler);
    app.get("/api/1/dtabs/", listHandler);

    app.get("/api/1/dtabs/:ns", async (request: NsRequest, reply) => {
      const ns = namespaceOf(request);
      const text = wantsText(request);
      if (isWatch(request)) {
        // ?versioned=true wraps each document with its namespace and version; a missing namespace is null.
        const versioned = request.query["versioned"] === "true" || request.query["versioned"] === "1";
        const stream = new DocumentStream(request, reply, streams, {
          contentType: text && !versioned ? `${DTAB_MEDIA_TYPE}; charset=utf-8` : "application/x-ndjson; charset=utf-8",
          keepAliveMs: ctx.keepAliveMs,
          dedupe: !versioned,
        });
        ctx.metrics.watches.inc({ resource: "dtab" });
        stream.onClose(() => ctx.metrics.watches.dec({ resource: "dtab" }));
        const doc = (state: VersionedDtab | undefined): string => {
          if (versioned) {
            return JSON.stringify(
              state === undefined ? { namespace: ns, version: null, dtab: null } : { namespace: ns, version: state.version, dtab: state.dtab.toJSON() },
            );
          }
          if (state === undefined) return text ? "" : "null";
          return render(state.dtab, text);
        };
        stream.onClose(store.watch(ns, (state) => stream.send(doc(state))));
        return;
      }
      const state = await store.get(ns);
      if (state === undefined) throw new NamerError("NAMER_ERR_NOT_FOUND", `namespace ${ns} does not exist`);
      reply
        .header("etag", state.version)
        .header("last-modified", new Date(state.updatedAt).toUTCString())
        .type(text ? `${DTAB_MEDIA_TYPE}; charset=utf-8` : "application/json; charset=utf-8")
        .send(render(state.dtab, text) + "\n");
    });

    app.head("/api/1/dtabs/:ns", async (request: NsRequest, reply) => {
      const ns = namespaceOf(request);
      const state = await store.get(ns);
      if (state === undefined) throw new NamerError("NAMER_ERR_NOT_FOUND", `namespace ${ns} does not exist`);
      reply.header("etag", state.version).code(200).send();
    });

    app.post("/api/1/dtabs/:ns", async (request: NsRequest, reply) => {
      const ns = namespaceOf(request);
      const who = writer(request);
      const dtab = bodyDtab(request);
      const result = await store.create(ns, dtab, who);
      written(request, reply, "create", ns, result).code(204).send();
    });

    app.put("/api/1/dtabs/:ns", async (request: NsRequest, reply) => {
      const ns = namespaceOf(request);
      const who = writer(request);
      const expected = requireCondition(request, "PUT");
      const dtab = bodyDtab(request);
      const result = expected === undefined ? await store.put(ns, dtab, who) : await store.update(ns, dtab, expected, who);
      written(request, reply, "update", ns, result).code(204).send();
    });

    app.delete("/api/1/dtabs/:ns", async (request: NsRequest, reply) => {
      const ns = namespaceOf(request);
      const who = writer(request);
      const expected = requireCondition(request, "DELETE");
      const result = await store.delete(ns, expected, who);
      written(request, reply, "delete", ns, result).code(204).send();
    });

    app.get("/api/1/dtabs/:ns/history", async (request: NsRequest, reply) => {
      const ns = namespaceOf(request);
      const entries = await store.history(ns, limitOf(request));
      if (entries.length === 0 && (await store.get(ns)) === undefined) {
        throw new NamerError("NAMER_ERR_NOT_FOUND", `namespace ${ns} has no history: it never existed (or its history expired)`);
      }
      reply.type("application/json; charset=utf-8").send(JSON.stringify(entries) + "\n");
    });

    app.get("/api/1/dtabs/:ns/audit", async (request: NsRequest, reply) => {
      const ns = namespaceOf(request);
      reply.type("application/json; charset=utf-8").send(JSON.stringify(await store.audit(ns, limitOf(request))) + "\n");
    });

    app.post("/api/1/dtabs/:ns/rollback", async (request: NsRequest, reply) => {
      const ns = namespaceOf(request);
      const who = writer(request);
      const body = request.body;
      const fromBody = body !== null && typeof body === "object" && "version" in body ? (body as { version: unknown }).version : undefined;
      const target = request.query["version"] ?? (typeof fromBody === "number" ? String(fromBody) : fromBody);
      if (typeof target !== "string" || !/^[1-9][0-9]*$/.test(target)) {
        throw new NamerError("NAMER_ERR_INVALID_REQUEST", 'rollback needs the version to restore: ?version=N or a JSON body {"version": "N"}');
      }
      // Like PUT: the version being replaced is required, except when restoring a deleted
      // namespace (there is no current version to name).
      const expected = (await store.get(ns)) === undefined ? ifMatch(request) : requireCondition(request, "rollback");
      const result = await store.rollback(ns, target, expected, who);
      written(request, reply, "rollback", ns, result).type("application/json; charset=utf-8").send(JSON.stringify({ namespace: ns, version: result.version, restoredVersion: target }) + "\n");
    });
  };
}

