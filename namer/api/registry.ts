// The service registry resource: instances register themselves (and
// heartbeat by registering again) with a TTL; operators list and remove
// them. Served when a meshd.registry namer is configured. Writes are
// authorized like dtab writes.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { NamerError } from "../errors.ts";
import type { Registration, RegistryBackend } from "../registry/index.ts";
import { isServiceName } from "../registry/index.ts";
import { authorizeWrite } from "./auth.ts";
import type { ApiContext } from "./context.ts";
import { isWatch } from "./params.ts";
import { DocumentStream } from "./stream.ts";

type ServiceRequest = FastifyRequest<{ Params: { service: string; id?: string }; Querystring: Record<string, string | undefined> }>;

export interface RegistryApiOptions {
  readonly registry: RegistryBackend;
  /** TTL given to a registration that names none (s). */
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
}

function serviceOf(request: ServiceRequest): string {
  const service = request.params.service;
  if (!isServiceName(service)) {
    throw new NamerError("NAMER_ERR_INVALID_REQUEST", `invalid service name ${JSON.stringify(service.slice(0, 100))}: one path label of letters, digits, '.', '_', ':', '-'`);
  }
  return service;
}

function registrationOf(body: unknown, options: RegistryApiOptions): Registration {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new NamerError("NAMER_ERR_INVALID_REQUEST", 'a registration is a JSON object: {"host": "10.0.0.1", "port": 8080, "ttlSeconds": 30, "meta": {"nodeName": "…", "zone": "…", "weight": 1}}');
  }
  const b = body as Record<string, unknown>;
  const ttl = b["ttlSeconds"] ?? options.defaultTtlSeconds;
  if (typeof b["host"] !== "string" || b["host"] === "") throw new NamerError("NAMER_ERR_INVALID_REQUEST", "registration: `host` must be a non-empty string");
  if (typeof b["port"] !== "number" || !Number.isInteger(b["port"]) || b["port"] < 1 || b["port"] > 65535) {
    throw new NamerError("NAMER_ERR_INVALID_REQUEST", "registration: `port` must be a whole number 1–65535");
  }
  if (typeof ttl !== "number" || !(ttl > 0) || ttl > options.maxTtlSeconds) {
    throw new NamerError("NAMER_ERR_INVALID_REQUEST", `registration: \`ttlSeconds\` must be a number above 0 and at most ${options.maxTtlSeconds}`);
  }
  const meta = b["meta"];
  if (meta !== undefined && (typeof meta !== "object" || meta === null || Array.isArray(meta) || Object.values(meta).some((v) => typeof v !== "string" && typeof v !== "number"))) {
    throw new NamerError("NAMER_ERR_INVALID_REQUEST", "registration: `meta` must be an object of strings and numbers");
  }
  return { host: b["host"], port: b["port"], ttlSeconds: ttl, ...(meta === undefined ? {} : { meta: meta as Registration["meta"] }) };
}

export function registryRoutes(ctx: ApiContext, options: RegistryApiOptions) {
  const { registry } = options;
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get("/api/1/registry", async (_request, reply) => {
      reply.type("application/json; charset=utf-8").send(JSON.stringify(await registry.services()) + "\n");
    });

    app.get("/api/1/registry/:service", async (request: ServiceRequest, reply) => {
      const service = serviceOf(request);
      if (isWatch(request)) {
        const stream = new DocumentStream(request, reply, ctx.streams, { contentType: "application/x-ndjson; charset=utf-8", keepAliveMs: ctx.keepAliveMs });
        ctx.metrics.watches.inc({ resource: "registry" });
        stream.onClose(() => ctx.metrics.watches.dec({ resource: "registry" }));
        stream.onClose(registry.watch(service, (instances) => stream.send(JSON.stringify(instances))));
        return;
      }
      reply.type("application/json; charset=utf-8").send(JSON.stringify(await registry.instances(service)) + "\n");
    });

    app.post("/api/1/registry/:service", async (request: ServiceRequest, reply) => {
      const service = serviceOf(request);
      authorizeWrite(request, ctx.tokens);
      const instance = await registry.register(service, registrationOf(request.body, options));
      ctx.metrics.writes.inc({ action: "register", result: "ok" });
      reply.type("application/json; charset=utf-8").send(JSON.stringify(instance) + "\n");
    });

    app.delete("/api/1/registry/:service/:id", async (request: ServiceRequest, reply) => {
      const service = serviceOf(request);
      authorizeWrite(request, ctx.tokens);
      const id = request.params.id ?? "";
      if (!(await registry.deregister(service, id))) {
        throw new NamerError("NAMER_ERR_NOT_FOUND", `no live instance ${id} of ${service}`);
      }
      ctx.metrics.writes.inc({ action: "deregister", result: "ok" });
      reply.code(204).send();
    });
  };
}
