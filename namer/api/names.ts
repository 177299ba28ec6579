// The name resource of the namer API, in namerd's shapes: bind a logical
// path, look up a bound id's addresses, resolve (bind and pick), explain a
// delegation, list bound names; every one of them also as a watch stream
// (`?watch=true`), one document per change, consecutive duplicates dropped.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { DTAB_ERRORS, Dtab, DtabError, Path, type DtabErrorCode } from "../../dtab/index.ts";
import { NamerError } from "../errors.ts";
import { addrJson, type Binding, type LiveValue } from "../interpreter/interpreter.ts";
import { bindingJson } from "../interpreter/json.ts";
import type { ApiContext } from "./context.ts";
import { namespaceOf, isWatch, type NsRequest } from "./params.ts";
import { DocumentStream } from "./stream.ts";

type Query = Record<string, string | undefined>;

function pathParam(query: Query): Path {
  const raw = query["path"];
  if (raw === undefined || raw === "") throw new NamerError("NAMER_ERR_INVALID_PATH", "Invalid path: the `path` parameter is required, e.g. ?path=/svc/users");
  try {
    return Path.read(raw);
  } catch (e) {
    if (e instanceof DtabError) throw new NamerError("NAMER_ERR_INVALID_PATH", `Invalid path: ${e.message}`, { cause: e, details: { offset: e.offset } });
    throw e;
  }
}

function dtabParam(query: Query): Dtab {
  const raw = query["dtab"];
  if (raw === undefined || raw === "") return Dtab.empty;
  try {
    return Dtab.read(raw);
  } catch (e) {
    if (e instanceof DtabError) throw new NamerError("NAMER_ERR_INVALID_DTAB", `Invalid dtab: ${e.message}`, { cause: e, details: { offset: e.offset } });
    throw e;
  }
}

/** The first value that is not pending, waiting at most `timeoutMs`. */
function settled<T>(live: LiveValue<T>, isPending: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const now = live.current();
  if (!isPending(now)) return Promise.resolve(now);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      unsubscribe();
      resolve(live.current());
    }, timeoutMs);
    const unsubscribe = live.subscribe((v) => {
      if (isPending(v)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(v);
    });
  });
}

function bindingError(binding: Binding, what: string): NamerError | undefined {
  if (binding.type === "pending") return new NamerError("NAMER_ERR_NAME_PENDING", `${what}: discovery has not answered yet`);
  if (binding.type === "failed") {
    const status = DTAB_ERRORS[binding.code as DtabErrorCode]?.status;
    return new NamerError("NAMER_ERR_BINDING_FAILED", `${what}: ${binding.cause}`, { details: { cause: binding.code, ...(status === undefined ? {} : { causeStatus: status }) } });
  }
  return undefined;
}

export function nameRoutes(ctx: ApiContext) {
  const interpreter = ctx.interpreter;

  /** Answers once, or streams every change when ?watch=true; always closes the live value. */
  const serve = async <T>(
    request: FastifyRequest<{ Querystring: Query }>,
    reply: FastifyReply,
    resource: string,
    live: LiveValue<T>,
    render: (value: T) => string | undefined,
    once: (value: T) => NamerError | undefined,
    isPending: (value: T) => boolean,
  ): Promise<void> => {
    if (isWatch(request)) {
      const stream = new DocumentStream(request, reply, ctx.streams, { contentType: "application/x-ndjson; charset=utf-8", keepAliveMs: ctx.keepAliveMs });
      ctx.metrics.watches.inc({ resource });
      stream.onClose(() => {
        ctx.metrics.watches.dec({ resource });
        live.close();
      });
      const send = (v: T): void => {
        const doc = render(v);
        if (doc !== undefined) stream.send(doc);
      };
      stream.onClose(live.subscribe(send));
      send(live.current());
      return;
    }
    try {
      const value = await settled(live, isPending, ctx.nameTimeoutMs);
      const error = once(value);
      if (error !== undefined) throw error;
      reply.type("application/json; charset=utf-8").send((render(value) ?? "null") + "\n");
    } finally {
      live.close();
    }
  };

  return async function plugin(app: FastifyInstance): Promise<void> {
    if (interpreter === undefined) return;

    app.get("/api/1/bind/:ns", async (request: NsRequest, reply) => {
      const ns = namespaceOf(request);
      const path = pathParam(request.query);
      const local = dtabParam(request.query);
      const live = interpreter.bind(ns, path, local);
      const render = (b: Binding): string | undefined => {
        const json = bindingJson(path, b);
        return json === undefined ? undefined : JSON.stringify(json);
      };
      await serve(request, reply, "bind", live, render, (b) => bindingError(b, `binding ${path.show} in ${ns}`), (b) => b.type === "pending");
    });

    app.get("/api/1/addr/:ns", async (request: NsRequest, reply) => {
      namespaceOf(request);
      const id = pathParam(request.query);
      const live = interpreter.addr(id);
      await serve(request, reply, "addr", live, (a) => (a.type === "pending" ? undefined : JSON.stringify(addrJson(a))), () => undefined, (a) => a.type === "pending");
    });

    app.get("/api/1/resolve/:ns", async (request: NsRequest, reply) => {
      const ns = namespaceOf(request);
      const path = pathParam(request.query);
      const live = interpreter.resolve(ns, path, dtabParam(request.query));
      await serve(request, reply, "resolve", live, (a) => (a.type === "pending" ? undefined : JSON.stringify(addrJson(a))), () => undefined, (a) => a.type === "pending");
    });

    const delegateHandler = async (ns: string | undefined, query: Query, reply: FastifyReply): Promise<void> => {
      const path = pathParam(query);
      const local = dtabParam(query);
      try {
        const tree = await interpreter.delegate(ns, path, local, ctx.delegateTimeoutMs);
        reply.type("application/json; charset=utf-8").send(JSON.stringify(tree) + "\n");
      } catch (e) {
        if (e instanceof DtabError) {
          throw new NamerError("NAMER_ERR_BINDING_FAILED", `explaining ${path.show}: ${e.message}`, { cause: e, details: { cause: e.code } });
        }
        throw e;
      }
    };
    app.get("/api/1/delegate/:ns", async (request: NsRequest, reply) => delegateHandler(namespaceOf(request), request.query, reply));
    app.get("/api/1/delegate", async (request: FastifyRequest<{ Querystring: Query }>, reply) => delegateHandler(undefined, request.query, reply));

    app.get("/api/1/bound-names", async (request: FastifyRequest<{ Querystring: Query }>, reply) => {
      const live = interpreter.boundNames();
      // Listings load asynchronously: an empty first answer may just mean "not read yet", so give it a moment.
      const fresh = live.current().length === 0 ? await settled(live, (names) => names.length === 0, Math.min(1_000, ctx.nameTimeoutMs)) : undefined;
      void fresh;
      await serve(request, reply, "bound-names", live, (names) => JSON.stringify(names), () => undefined, () => false);
    });
  };
}
