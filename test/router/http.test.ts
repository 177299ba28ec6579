// The router's HTTP/1.1 data path as a real process in front of real
// backends: routing by Host and in proxy mode, the l5d-* headers, weighted
// splits, per-request dtab overrides on trusted and cleared listeners, live
// re-routing on discovery changes, streaming, and the edge rules Node's
// parser lets through.
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Backend } from "../support/backend.ts";
import { get, raw } from "../support/http.ts";
import { eventually } from "../support/process.ts";
import { scrape } from "../support/prometheus.ts";
import { startRouterProcess, type RouterProcess } from "../support/router.ts";

describe("router, default interpreter over io.l5d.fs", () => {
  const disco = mkdtempSync(join(tmpdir(), "meshd-disco-"));
  let web: Backend;
  let api: Backend;
  let stable: Backend;
  let canary: Backend;
  let router: RouterProcess;
  let url: string;
  let cleared: string;

  beforeAll(async () => {
    [web, api, stable, canary] = await Promise.all([Backend.start("web"), Backend.start("api"), Backend.start("stable"), Backend.start("canary")]);
    writeFileSync(join(disco, "web"), `${web.fsLine}\n`);
    writeFileSync(join(disco, "api"), `${api.fsLine}\n`);
    writeFileSync(join(disco, "stable"), `${stable.fsLine}\n`);
    writeFileSync(join(disco, "canary"), `${canary.fsLine}\n`);
    router = await startRouterProcess({
      namers: [{ kind: "io.l5d.fs", rootDir: disco }],
      routers: [
        {
          protocol: "http",
          label: "out",
          dtab: "/svc => /#/io.l5d.fs ; /svc/split => 7 * /#/io.l5d.fs/stable & 3 * /#/io.l5d.fs/canary ; /svc/loop => /$/inet/127.0.0.1/1",
          servers: [{}, { clearContext: true }],
        },
      ],
    });
    [url, cleared] = router.servers[0] as [string, string];
  });

  afterAll(async () => {
    await router?.stop();
    await Promise.all([web, api, stable, canary].map((b) => b?.stop()));
  });

  it("routes by Host and adds the l5d-* headers both ways", async () => {
    const r = await get(`${url}/hello?x=1`, "web");
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ backend: "web", url: "/hello?x=1", host: "web" });
    expect(r.headers["l5d-dst-service"]).toBe("/svc/web");
    expect(r.headers["l5d-dst-client"]).toBe("/#/io.l5d.fs/web");
    expect(r.headers["l5d-reqid"]).toMatch(/^[0-9a-f]{16}$/);
    const seen = web.seen.at(-1);
    expect(seen?.headers["via"]).toMatch(/^1\.1 meshd-out-[0-9a-f]{8}$/);
    expect(seen?.headers["l5d-dst-service"]).toBe("/svc/web");
    expect(seen?.headers["l5d-reqid"]).toBe(r.headers["l5d-reqid"]);
    const again = await get(`${url}/hello`, "web");
    expect(again.headers["l5d-reqid"]).toMatch(/^[0-9a-f]{16}$/);
    expect(again.headers["l5d-reqid"]).not.toBe(r.headers["l5d-reqid"]);
  });

  it("works as an http_proxy: absolute URIs are routed by their authority", async () => {
    const r = await get(url, "ignored", { target: "http://api/proxied?q=2" });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ backend: "api", url: "/proxied?q=2", host: "api" });
  });

  it("answers 502 naming the path and dtab when a name binds to nothing", async () => {
    const r = await get(url, "nowhere");
    expect(r.status).toBe(502);
    expect(r.headers["l5d-err"]).toContain("no route to /svc/nowhere");
    expect(r.headers["l5d-err-code"]).toBe("ROUTER_ERR_NO_ROUTE");
    expect(r.body).toContain("/svc/nowhere");
  });

  it("splits traffic 70/30 by dtab weights (±3% over 2,000 requests)", async () => {
    const counts = { stable: 0, canary: 0 } as Record<string, number>;
    for (let batch = 0; batch < 20; batch++) {
      const replies = await Promise.all(Array.from({ length: 100 }, () => get(url, "split")));
      for (const r of replies) {
        expect(r.status).toBe(200);
        const b = (JSON.parse(r.body) as { backend: string }).backend;
        counts[b] = (counts[b] ?? 0) + 1;
      }
    }
    const share = (counts["stable"] ?? 0) / 2000;
    expect(share).toBeGreaterThan(0.67);
    expect(share).toBeLessThan(0.73);
  });

  it("honours l5d-dtab on a trusted listener, forwards it as l5d-ctx-dtab, and ignores it on a cleared one", async () => {
    const over = await get(url, "web", { headers: { "l5d-dtab": "/svc/web => /#/io.l5d.fs/api" } });
    expect(JSON.parse(over.body)).toMatchObject({ backend: "api" });
    expect(api.seen.at(-1)?.headers["l5d-ctx-dtab"]).toBe("/svc/web=>/#/io.l5d.fs/api");
    expect(api.seen.at(-1)?.headers["l5d-dtab"]).toBeUndefined();
    const ignored = await get(cleared, "web", { headers: { "l5d-dtab": "/svc/web => /#/io.l5d.fs/api" } });
    expect(JSON.parse(ignored.body)).toMatchObject({ backend: "web" });
    expect(ignored.headers["l5d-dst-service"]).toBeUndefined();
    expect(web.seen.at(-1)?.headers["l5d-ctx-dtab"]).toBeUndefined();
    const bad = await get(url, "web", { headers: { "l5d-dtab": "/svc/web => " } });
    expect(bad.status).toBe(400);
    expect(bad.headers["l5d-err-code"]).toBe("ROUTER_ERR_BAD_DTAB_HEADER");
    expect(bad.headers["l5d-err"]).toContain("offset");
  });

  it("follows discovery: a service file rewritten (even by rename) re-routes within a second", async () => {
    const file = join(disco, "moving");
    writeFileSync(file, `${web.fsLine}\n`);
    expect(JSON.parse((await get(url, "moving")).body)).toMatchObject({ backend: "web" });
    writeFileSync(`${file}.tmp`, `${api.fsLine}\n`);
    renameSync(`${file}.tmp`, file);
    const started = Date.now();
    await eventually(async () => ((JSON.parse((await get(url, "moving")).body) as { backend: string }).backend === "api" ? true : undefined), 5_000);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("streams large bodies both ways intact", async () => {
    web.mode = { kind: "echo" };
    try {
      const body = Buffer.alloc(3 * 1024 * 1024, 1);
      for (let i = 0; i < body.length; i += 4096) body[i] = i % 251;
      const r = await new Promise<Buffer>((resolve, reject) => {
        const u = new URL(url);
        const req = httpRequest({ host: u.hostname, port: u.port, method: "POST", path: "/up", headers: { host: "web", "content-length": String(body.length) }, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve(Buffer.concat(chunks)));
        });
        req.on("error", reject);
        req.end(body);
      });
      expect(r.length).toBe(body.length);
      expect(r.equals(body)).toBe(true);
    } finally {
      web.mode = { kind: "ok" };
    }
  });

  it("resets the client connection when the backend cuts a response short", async () => {
    web.mode = { kind: "truncate" };
    try {
      const outcome = await new Promise<string>((resolve) => {
        const u = new URL(url);
        const req = httpRequest({ host: u.hostname, port: u.port, path: "/", headers: { host: "web" }, agent: false }, (res) => {
          let n = 0;
          res.on("data", (c: Buffer) => (n += c.length));
          res.on("end", () => resolve(`complete with ${n} bytes`));
          res.on("error", (e) => resolve(`error: ${e.message}`));
          res.on("aborted", () => resolve(`aborted after ${n} bytes`));
        });
        req.on("error", (e) => resolve(`error: ${e.message}`));
        req.end();
      });
      expect(outcome).not.toMatch(/^complete/);
    } finally {
      web.mode = { kind: "ok" };
    }
  });

  it("strips hop-by-hop headers and those named in Connection", async () => {
    await get(url, "web", { headers: { connection: "keep-alive, x-secret", "x-secret": "s", "keep-alive": "timeout=5", "x-kept": "k", te: "trailers" } });
    const seen = web.seen.at(-1);
    expect(seen?.headers["x-kept"]).toBe("k");
    expect(seen?.headers["x-secret"]).toBeUndefined();
    expect(seen?.headers["keep-alive"]).toBeUndefined();
    expect(seen?.headers["te"]).toBeUndefined();
  });

  it("refuses duplicate Host, underscores in header names, too many headers; answers malformed input without crashing", async () => {
    const port = Number(new URL(url).port);
    expect(await raw(port, "GET / HTTP/1.1\r\nHost: web\r\nHost: api\r\nConnection: close\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 /);
    expect(await raw(port, "GET / HTTP/1.1\r\nHost: web\r\nTransfer_Encoding: chunked\r\nConnection: close\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 /);
    expect(await raw(port, "GET / HTTP/1.1\r\nHost: us er@web\r\nConnection: close\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 /);
    const many = Array.from({ length: 150 }, (_, i) => `X-H${i}: v\r\n`).join("");
    expect(await raw(port, `GET / HTTP/1.1\r\nHost: web\r\n${many}Connection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    expect(await raw(port, "GET / HTTP/1.1\r\nHost: web\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 /);
    expect(await raw(port, `GET / HTTP/1.1\r\nHost: web\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    // Still serving.
    expect((await get(url, "web")).status).toBe(200);
  });

  it("refuses a CONNECT tunnel with 400 and l5d-err, then closes the connection", async () => {
    const port = Number(new URL(url).port);
    const out = await raw(port, "CONNECT web:443 HTTP/1.1\r\nHost: web:443\r\n\r\n", /CONNECT tunnels are not supported\n$/);
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    expect(out).toMatch(/\r\nl5d-err: CONNECT tunnels are not supported\r\n/);
    expect(out).toMatch(/\r\nconnection: close\r\n/i);
    // Nothing was sent on: the backend saw no request for it.
    expect(web.seen.some((r) => r.method === "CONNECT")).toBe(false);
    // A client that resets the connection instead of reading the answer (as curl does) leaves the router serving.
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.write("CONNECT web:443 HTTP/1.1\r\nHost: web:443\r\n\r\n");
        setTimeout(() => {
          socket.resetAndDestroy();
          resolve();
        }, 20);
      });
      socket.on("error", reject);
    });
    await new Promise((r) => setTimeout(r, 100));
    expect((await get(url, "web")).status).toBe(200);
  });

  it("refuses OPTIONS * and malformed request bodies with 400 at once, without counting them against the endpoint", async () => {
    const port = Number(new URL(url).port);
    /** A series of web's client from the router's /metrics (0 when not shown yet). */
    const webClient = async (metric: string, labels = ""): Promise<number> => (await scrape(router.adminUrl)).get(`${metric}{rt="out",client="/#/io.l5d.fs/web"${labels}}`) ?? 0;
    const webFailures = (): Promise<number> => webClient("rt_client_requests_total", ',result="failure"');
    const before = await webFailures();
    // More than failure accrual's 5 consecutive failures, had they reached the endpoint's account.
    for (let i = 0; i < 6; i++) {
      const star = await raw(port, "OPTIONS * HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n");
      expect(star).toMatch(/^HTTP\/1\.1 400 /);
      expect(star).toContain("l5d-err: the asterisk request target cannot be forwarded (OPTIONS *)\r\n");
      const getStar = await raw(port, "GET * HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n");
      expect(getStar).toMatch(/^HTTP\/1\.1 400 /);
      expect(getStar).toContain("l5d-err: the asterisk request target cannot be forwarded (GET *)\r\n");
      // Node reads these headers, starts the request, then fails on the body: the router must not wait for the rest.
      for (const [framing, code] of [
        ["Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", "HPE_INVALID_CHUNK_SIZE"],
        ["Transfer-Encoding: identity\r\n\r\n", "HPE_INVALID_TRANSFER_ENCODING"],
      ]) {
        const out = await raw(port, `POST /upload HTTP/1.1\r\nHost: web\r\n${framing}`, /\r\n\r\nmalformed request body \(.*\)\n$/);
        expect(out).toMatch(/^HTTP\/1\.1 400 /);
        expect(out).toContain(`l5d-err: malformed request body (${code})\r\n`);
        expect(out).toMatch(/\r\nconnection: close\r\n/i);
      }
    }
    expect(await webFailures()).toBe(before);
    // Nor is anything left waiting upstream for the rest of a body that will never come.
    await eventually(async () => ((await webClient("rt_client_pending")) === 0 ? true : undefined), 5_000, "web's attempts to end");
    expect((await get(url, "web")).status).toBe(200);
  });

  it("answers a malformed request after a pipelined response that was still in flight", async () => {
    web.mode = { kind: "ok" };
    const port = Number(new URL(url).port);
    const out = await raw(port, "GET /first HTTP/1.1\r\nHost: web\r\n\r\nGET / HTTP/1.1\r\nHost: web\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", /HTTP\/1\.1 400 [^]*\r\n\r\n/);
    expect(out).toMatch(/^HTTP\/1\.1 200 /);
    expect(out).toContain('"url":"/first"');
    expect(out).toMatch(/HTTP\/1\.1 400 /);
  });

  it("stops a request that loops back to the same router", async () => {
    const port = new URL(url).port;
    const r = await get(url, "loop", { headers: { "l5d-dtab": `/svc/loop => /$/inet/127.0.0.1/${port}` } });
    expect(r.status).toBe(400);
    expect(r.headers["l5d-err-code"]).toBe("ROUTER_ERR_LOOP");
  });

  it("answers 502 with l5d-err when the endpoint refuses connections", async () => {
    const r = await get(url, "loop");
    expect(r.status).toBe(502);
    expect(r.headers["l5d-err-code"]).toBe("ROUTER_ERR_CONNECT");
  });
});
