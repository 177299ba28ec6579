// The router's exporters against real receivers on loopback: statsd
// datagrams caught by a UDP socket, trace context carried across two
// routers (W3C and both B3 forms) with their spans posted to an OTLP/HTTP
// receiver, and the access log's JSON lines (credentials kept out).
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Backend } from "../support/backend.ts";
import { eventually } from "../support/process.ts";
import { startRouterProcess, type RouterProcess } from "../support/router.ts";

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
}

function get(url: string, host: string, headers: Record<string, string> = {}, path = "/"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = httpRequest({ host: u.hostname, port: u.port, path, headers: { host, ...headers }, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("statsd", () => {
  let socket: Socket;
  const lines: string[] = [];
  let backend: Backend;
  let plain: RouterProcess;
  let dog: RouterProcess;

  beforeAll(async () => {
    socket = createSocket("udp4");
    socket.on("message", (m) => lines.push(...m.toString().split("\n").filter((l) => l !== "")));
    socket.bind(0, "127.0.0.1");
    await once(socket, "listening");
    const port = (socket.address() as AddressInfo).port;
    backend = await Backend.start("good");
    const router = (label: string) => ({ protocol: "http", label, dtab: `/svc => /$/inet/127.0.0.1/${backend.port}`, servers: [{}] });
    [plain, dog] = await Promise.all([
      startRouterProcess({ routers: [router("out")], telemetry: [{ kind: "io.l5d.statsd", port, prefix: "mesh", sampleRate: 1, gaugeIntervalMs: 200 }] }),
      startRouterProcess({ routers: [router("dog")], telemetry: [{ kind: "io.l5d.statsd", port, prefix: "mesh", sampleRate: 1, gaugeIntervalMs: 200, dogstatsd: true, tags: { env: "test" } }] }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([plain?.stop(), dog?.stop()]);
    await backend?.stop();
    socket?.close();
  });

  it("sends a counter per request, its latency and the gauges, named Linkerd's way", async () => {
    const url = plain.servers[0]?.[0] as string;
    for (let i = 0; i < 5; i++) expect((await get(url, "web")).status).toBe(200);
    const count = (name: string): number => lines.filter((l) => l.startsWith(`${name}:`)).reduce((n, l) => n + Number(/:(\d+)\|c/.exec(l)?.[1] ?? 0), 0);
    await eventually(() => (count("mesh.rt.out.service.svc.web.requests") === 5 ? true : undefined), 5_000, "5 request counts");
    expect(count("mesh.rt.out.service.svc.web.success")).toBe(5);
    expect(count("mesh.rt.out.service.svc.web.status.2XX")).toBe(5);
    expect(lines.filter((l) => /^mesh\.rt\.out\.service\.svc\.web\.request_latency_ms:[0-9.]+\|ms$/.test(l))).toHaveLength(5);
    // The client is /$/inet/127.0.0.1/<port>: its segments, dots made underscores.
    expect(count(`mesh.rt.out.client.inet.127_0_0_1.${backend.port}.requests`)).toBe(5);
    await eventually(() => lines.find((l) => l === `mesh.rt.out.client.inet.127_0_0_1.${backend.port}.loadbalancer.size:1|g`), 5_000, "load-balancer size gauge");
    // Plain statsd gets no tags (an agent that does not know them would drop the line).
    expect(lines.filter((l) => l.startsWith("mesh.rt.out.")).every((l) => !l.includes("|#"))).toBe(true);
  });

  it("tags DogStatsD metrics instead of naming them", async () => {
    const url = dog.servers[0]?.[0] as string;
    for (let i = 0; i < 3; i++) expect((await get(url, "api")).status).toBe(200);
    const requests = await eventually(() => {
      const found = lines.filter((l) => l.startsWith("mesh.rt.service.requests:1|c|#") && l.includes("service:/svc/api"));
      return found.length === 3 ? found : undefined;
    }, 5_000, "3 tagged request counts");
    for (const line of requests) {
      const tags = new Set(line.slice(line.indexOf("|#") + 2).split(","));
      expect(tags).toEqual(new Set(["env:test", "rt:dog", "service:/svc/api", "status_class:2XX"]));
    }
  });
});

interface OtlpSpanJson {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: { stringValue?: string; intValue?: string } }[];
  status: { code: number };
}

describe("tracing across two routers", () => {
  let receiver: Server;
  const spans: OtlpSpanJson[] = [];
  const exportHeaders: IncomingHttpHeaders[] = [];
  let backend: Backend;
  let a: RouterProcess;
  let b: RouterProcess;
  let entry: string;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        exportHeaders.push(req.headers);
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { resourceSpans: { resource: unknown; scopeSpans: { spans: OtlpSpanJson[] }[] }[] };
        for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        res.writeHead(200, { "content-type": "application/json" });
        res.end("{}");
      });
    });
    receiver.listen(0, "127.0.0.1");
    await once(receiver, "listening");
    const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`;
    backend = await Backend.start("traced");
    const otlp = (serviceName: string) => [{ kind: "meshd.otlp", endpoint, serviceName, flushIntervalMs: 100, headers: { authorization: "Bearer collector-secret" } }];
    b = await startRouterProcess({ routers: [{ protocol: "http", label: "incoming", dtab: `/svc => /$/inet/127.0.0.1/${backend.port}`, servers: [{}] }], telemetry: otlp("host-b") });
    const bPort = new URL(b.servers[0]?.[0] as string).port;
    a = await startRouterProcess({ routers: [{ protocol: "http", label: "outgoing", dtab: `/svc => /$/inet/127.0.0.1/${bPort}`, servers: [{}] }], telemetry: otlp("host-a") });
    entry = a.servers[0]?.[0] as string;
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await backend?.stop();
    receiver?.close();
  });

  /** The two spans of one trace, in hop order (A's parent is the caller's span; B's is A's). */
  async function hopSpans(traceId: string): Promise<[OtlpSpanJson, OtlpSpanJson]> {
    return eventually(() => {
      const mine = spans.filter((s) => s.traceId === traceId);
      if (mine.length < 2) return undefined;
      const second = mine.find((s) => mine.some((o) => o.spanId === s.parentSpanId));
      const first = mine.find((s) => s !== second);
      return first !== undefined && second !== undefined ? ([first, second] as [OtlpSpanJson, OtlpSpanJson]) : undefined;
    }, 5_000, `two spans of trace ${traceId}`);
  }

  it("carries a W3C traceparent through both hops, each with its own span, and exports both spans", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const callerSpan = "00f067aa0ba902b7";
    const answer = await get(entry, "web", { traceparent: `00-${traceId}-${callerSpan}-01`, tracestate: "vendor=opaque" }, "/orders?id=7");
    expect(answer.status).toBe(200);
    const seen = backend.seen.at(-1)?.headers;
    const [first, second] = await hopSpans(traceId);
    expect(first.parentSpanId).toBe(callerSpan);
    expect(second.parentSpanId).toBe(first.spanId);
    expect(first.spanId).not.toBe(second.spanId);
    // The backend's parent is the last router's span; tracestate passes untouched.
    expect(seen?.["traceparent"]).toBe(`00-${traceId}-${second.spanId}-01`);
    expect(seen?.["tracestate"]).toBe("vendor=opaque");
    expect(second.name).toBe("GET /svc/web");
    const attrs = Object.fromEntries(second.attributes.map((x) => [x.key, x.value.stringValue ?? x.value.intValue]));
    expect(attrs).toMatchObject({ "http.request.method": "GET", "http.response.status_code": "200", "meshd.service": "/svc/web", "meshd.router": "incoming", "url.path": "/orders" });
    expect(second.status.code).toBe(0);
    // The collector's credentials are sent to it, as configured.
    expect(exportHeaders.at(-1)?.authorization).toBe("Bearer collector-secret");
  });

  it("keeps B3 multi-header form (64-bit ids included) and B3 single form", async () => {
    const multiTrace = "a3ce929d0e0e4736";
    expect((await get(entry, "web", { "x-b3-traceid": multiTrace, "x-b3-spanid": "1111111111111111", "x-b3-sampled": "1" })).status).toBe(200);
    const multiSeen = backend.seen.at(-1)?.headers;
    const [m1, m2] = await hopSpans(multiTrace.padStart(32, "0"));
    expect(m1.parentSpanId).toBe("1111111111111111");
    expect(multiSeen?.["x-b3-traceid"]).toBe(multiTrace);
    expect(multiSeen?.["x-b3-spanid"]).toBe(m2.spanId);
    expect(multiSeen?.["x-b3-parentspanid"]).toBe(m1.spanId);
    expect(multiSeen?.["x-b3-sampled"]).toBe("1");
    expect(multiSeen?.["traceparent"]).toBe(`00-${multiTrace.padStart(32, "0")}-${m2.spanId}-01`);

    const singleTrace = "80f198ee56343ba864fe8b2a57d3eff7";
    expect((await get(entry, "web", { b3: `${singleTrace}-e457b5a2e4d86bd1-1` })).status).toBe(200);
    const singleSeen = backend.seen.at(-1)?.headers;
    const [s1, s2] = await hopSpans(singleTrace);
    expect(s1.parentSpanId).toBe("e457b5a2e4d86bd1");
    expect(singleSeen?.["b3"]).toBe(`${singleTrace}-${s2.spanId}-1-${s1.spanId}`);
    expect(singleSeen?.["x-b3-traceid"]).toBeUndefined();
  });

  it("starts a trace for a request without one, and exports nothing for one its caller did not sample", async () => {
    expect((await get(entry, "web")).status).toBe(200);
    const started = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(backend.seen.at(-1)?.headers["traceparent"]));
    expect(started).not.toBeNull();
    const [first] = await hopSpans(started?.[1] as string);
    expect(first.parentSpanId).toBeUndefined();

    const unsampled = "0af7651916cd43dd8448eb211c80319c";
    expect((await get(entry, "web", { traceparent: `00-${unsampled}-b7ad6b7169203331-00` })).status).toBe(200);
    expect(String(backend.seen.at(-1)?.headers["traceparent"])).toMatch(new RegExp(`^00-${unsampled}-[0-9a-f]{16}-00$`));
    // A sampled request sent after it is exported; the unsampled one never is.
    const later = "11111111111111111111111111111111";
    expect((await get(entry, "web", { traceparent: `00-${later}-2222222222222222-01` })).status).toBe(200);
    await hopSpans(later);
    expect(spans.some((s) => s.traceId === unsampled)).toBe(false);
  });

  it("never logs the collector's credentials", () => {
    expect(a.process.output).not.toContain("collector-secret");
    expect(b.process.output).not.toContain("collector-secret");
  });
});

describe("access log", () => {
  let backend: Backend;
  let router: RouterProcess;
  let file: string;

  beforeAll(async () => {
    backend = await Backend.start("logged");
    const dir = mkdtempSync(join(tmpdir(), "meshd-access-"));
    file = join(dir, "access", "requests.log");
    router = await startRouterProcess({
      dir,
      routers: [{ protocol: "http", label: "out", dtab: `/svc/web => /$/inet/127.0.0.1/${backend.port}`, accessLog: { path: file }, servers: [{}] }],
    });
  });

  afterAll(async () => {
    await router?.stop();
    await backend?.stop();
  });

  it("writes one JSON line per request, with no credentials in it", async () => {
    const url = router.servers[0]?.[0] as string;
    const ok = await get(url, "web", { authorization: "Bearer app-secret" }, "/items?id=3&access_token=hunter2");
    expect(ok.status).toBe(200);
    const missing = await get(url, "nowhere");
    expect(missing.status).toBe(502);
    const records = await eventually(() => {
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch {
        return undefined;
      }
      const lines = text.split("\n").filter((l) => l !== "");
      return lines.length >= 2 ? lines.map((l) => JSON.parse(l) as Record<string, unknown>) : undefined;
    }, 5_000, "two access log lines");
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ log: "access", rt: "out", method: "GET", host: "web", path: "/items?id=3&access_token=[redacted]", service: "/svc/web", client: `/$/inet/127.0.0.1/${backend.port}`, status: 200, reqid: ok.headers["l5d-reqid"], retries: 0 });
    expect(records[0]?.["durationMs"]).toBeGreaterThan(0);
    expect(records[1]).toMatchObject({ host: "nowhere", service: "/svc/nowhere", status: 502, reqid: missing.headers["l5d-reqid"] });
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("app-secret");
    expect(router.process.output).not.toContain("hunter2");
  });
});
